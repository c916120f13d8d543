UPDATE context_generation SET pruned_below = max(pruned_below, ?) WHERE id = 1
