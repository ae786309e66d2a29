"""Services: the rules of each feature, one transaction per use case."""
