"""The procedure catalogue: what a citizen can apply for, who decides, how long, what it costs."""
