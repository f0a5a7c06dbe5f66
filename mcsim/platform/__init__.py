"""The platform's side of allocation: task pools, the allocation contract, metrics of a day."""
