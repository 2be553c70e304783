"""Digits: a small real training pipeline on scikit-learn's bundled digits data set."""
