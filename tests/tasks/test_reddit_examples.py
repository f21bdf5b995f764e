"""The getting-started guide's real-world examples, through `kflow run`, against a local HTTP
server (reddit-like JSON) and a real S3 server: the bytes in the bucket are the bytes served."""

from __future__ import annotations

from pathlib import Path

from tests.servers.fixtures import GUIDE_BUCKET
from tests.servers.http_server import reddit_json
from tests.tasks.support import runs

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_sequential_example_moves_the_bytes(run_flow, http_server, s3_server, storage_dir):
    execution, _ = run_flow(
        EXAMPLES / "kestra-reddit-aws-example.yaml",
        f"subRedditUrl={http_server.url('/r/news.json')}",
        "subredditName=r-news-today",
    )
    assert execution["state"]["current"] == "SUCCESS"
    by_task = runs(execution)
    download = by_task["downloadRedditData"]["outputs"]
    assert download["code"] == 200 and download["length"] == len(reddit_json("news"))
    taskrun_id = by_task["downloadRedditData"]["id"]
    assert download["uri"] == (
        "kestra:///io/kestra/tests/kestra-reddit-aws-example/executions/"
        f"{execution['id']}/tasks/downloadRedditData/{taskrun_id}/news.json"
    )
    stored = storage_dir / download["uri"][len("kestra:///"):]
    assert stored.read_bytes() == reddit_json("news")
    body = s3_server.client().get_object(Bucket=GUIDE_BUCKET, Key="r-news-today")["Body"].read()
    assert body == reddit_json("news")
    assert by_task["uploadToAwsS3"]["outputs"]["key"] == "r-news-today"
    assert by_task["uploadToAwsS3"]["outputs"]["bucket"] == GUIDE_BUCKET
    # The user-agent header of the flow reached the server.
    assert any(path == "/r/news.json" and headers.get("user-agent") == "kestra-io" for _, path, headers in http_server.requests)


def test_parallel_example_moves_both(run_flow, http_server, s3_server):
    execution, _ = run_flow(
        EXAMPLES / "kestra-reddit-aws-parallel-example.yaml",
        f"subRedditUrl1={http_server.url('/r/news.json')}",
        "subredditName1=par-news",
        f"subRedditUrl2={http_server.url('/r/sports.json')}",
        "subredditName2=par-sports",
    )
    assert execution["state"]["current"] == "SUCCESS"
    client = s3_server.client()
    assert client.get_object(Bucket=GUIDE_BUCKET, Key="par-news")["Body"].read() == reddit_json("news")
    assert client.get_object(Bucket=GUIDE_BUCKET, Key="par-sports")["Body"].read() == reddit_json("sports")
    by_task = runs(execution)
    assert by_task["uploadToAwsS31"]["outputs"]["key"] == "par-news"
    assert by_task["uploadToAwsS3"]["outputs"]["key"] == "par-sports"


def test_parallel_example_with_wrong_credentials_fails_naming_bucket_and_key(run_flow, http_server, s3_server):
    execution, _ = run_flow(
        EXAMPLES / "kestra-reddit-aws-parallel-example.yaml",
        f"subRedditUrl1={http_server.url('/r/news.json')}",
        "subredditName1=denied-news",
        f"subRedditUrl2={http_server.url('/r/sports.json')}",
        "subredditName2=denied-sports",
        "secretKeyId=not-the-secret",
        expect=1,
    )
    assert execution["state"]["current"] == "FAILED"
    from tests.tasks.support import reason

    message = reason(runs(execution)["uploadToAwsS31"])
    assert "bucket 'kestra-io-bucket'" in message and "key 'denied-news'" in message
    assert "SignatureDoesNotMatch" in message, message
