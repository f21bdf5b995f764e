"""The Kubernetes operator: Flow and Execution custom resources, one pod per task attempt."""
