"""Looking at networks without training them: sizes, parameters, MACs, receptive fields."""
