"""kflow: Kestra-style YAML workflows, run natively on Kubernetes."""
