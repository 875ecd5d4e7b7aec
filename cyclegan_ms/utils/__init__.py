"""Small utilities shared by training, inference and examples."""
