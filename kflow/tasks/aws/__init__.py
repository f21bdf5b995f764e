"""AWS tasks (boto3, imported only when one runs)."""
