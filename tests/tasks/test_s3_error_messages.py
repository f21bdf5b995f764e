"""What an S3 failure says: the cause under botocore's connection errors, not only the URL."""

from botocore.exceptions import ClientError, EndpointConnectionError

from kflow.storage.s3 import describe_error


def test_a_connection_error_names_its_cause():
    err = EndpointConnectionError(endpoint_url="http://10.244.0.1:9000/b/k", error=ConnectionRefusedError(111, "Connection refused"))
    text = describe_error(err)
    assert text.startswith('EndpointConnectionError: Could not connect to the endpoint URL: "http://10.244.0.1:9000/b/k"')
    assert text.endswith("([Errno 111] Connection refused)")


def test_a_service_error_is_its_code_and_message():
    err = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
    assert describe_error(err) == "AccessDenied: no"
