"""Display names: the one place the experiments, the MNIST models and the splits are named for
readers (the reproduction table, plot titles, the HTML report's categories), and the labels of
the reproduction table's rows and verdicts.

Read by ``rules/common.smk`` at parse time, so plain constants only (no imports).
"""

EXPERIMENTS = {"mnist": "MNIST", "sentiment": "SI650 sentiment", "indian_pines": "Indian Pines"}
MNIST_MODELS = {"perceptron": "perceptron", "mlp": "MLP", "lenet": "LeNet-style CNN"}
MNIST_ORDER = tuple(MNIST_MODELS)
SENTIMENT_SPLITS = {
    "lecture": "lecture split (random 80/20, random_state 42)",
    "grouped": "de-duplicated split (grouped: no identical input in both parts)",
}
INDIAN_PINES_SPLITS = {
    "random": "random 10 % per-class split",
    "disjoint": "spatially disjoint split",
}

# the reproduction table: its two sections and the cells of a row that was not run
LECTURE = "lecture figure"
BEYOND = "beyond the lecture"
NOT_RUN = "not run"
UNAVAILABLE = "not run — data unavailable"
