"""The next lectures' practice: training in every framework step for step, hyperparameter search, error analysis."""
