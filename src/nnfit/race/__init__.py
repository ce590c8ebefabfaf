"""``nnfit race``: variants of one setting trained from the same weights on one step clock."""
