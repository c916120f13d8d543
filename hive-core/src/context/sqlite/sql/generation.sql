SELECT value, pruned_below FROM context_generation WHERE id = 1
