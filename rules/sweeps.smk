# Sweeps (config `sweeps:`): one training job per point x seed, each with its own readable
# path results/sweeps/<sweep>/<param>~<value>/.../seed~<seed>/ (on Slurm: one GPU job each),
# which also evaluates the trained model on the test set (one TensorFlow start per run);
# preprocessing that depends on a swept parameter is computed once per value and shared by
# the points (SI650: vocabulary per size, encoding per size x length; Indian Pines: patch index
# per window, split per fraction x window), reusing the main pipeline's files for the
# configured values; one comparison table and plot per sweep.


localrules:
    table_sweep,


rule train_sweep_mnist:
    input:
        train="results/mnist/data/train.nc",
        split="results/mnist/data/validation.nc",
        test="results/mnist/data/test.nc",
    output:
        model=f"{SWEEP_DIR}/model.keras",
        history=f"{SWEEP_DIR}/history.csv",
        metrics=f"{SWEEP_DIR}/metrics.json",
    log:
        "logs/sweeps/{sweep}/{point}/seed~{seed}/train.log",
    benchmark:
        "benchmarks/sweeps/{sweep}/{point}/seed~{seed}/train.tsv"
    wildcard_constraints:
        sweep=get_sweep_names("mnist"),
        point=SWEEP_POINT,
    conda:
        "../envs/train.yaml"
    threads: get_tensorflow_threads()
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=1,
    params:
        training=get_training_options(),
        run=get_sweep_train_params,
        checkpoints=f"{SWEEP_DIR}/checkpoints",
    script:
        "../scripts/sweep_train_mnist.py"


rule train_sweep_sentiment:
    input:
        unpack(get_sweep_sentiment_input),
    output:
        model=f"{SWEEP_DIR}/model.keras",
        history=f"{SWEEP_DIR}/history.csv",
        metrics=f"{SWEEP_DIR}/metrics.json",
    log:
        "logs/sweeps/{sweep}/{point}/seed~{seed}/train.log",
    benchmark:
        "benchmarks/sweeps/{sweep}/{point}/seed~{seed}/train.tsv"
    wildcard_constraints:
        sweep=get_sweep_names("sentiment"),
        point=SWEEP_POINT,
    conda:
        "../envs/train.yaml"
    threads: get_tensorflow_threads()
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        training=get_training_options(),
        run=get_sweep_train_params,
        checkpoints=f"{SWEEP_DIR}/checkpoints",
    script:
        "../scripts/sweep_train_sentiment.py"


rule train_sweep_indian_pines:
    input:
        unpack(get_sweep_indian_pines_input),
    output:
        model=f"{SWEEP_DIR}/model.keras",
        history=f"{SWEEP_DIR}/history.csv",
        metrics=f"{SWEEP_DIR}/metrics.json",
    log:
        "logs/sweeps/{sweep}/{point}/seed~{seed}/train.log",
    benchmark:
        "benchmarks/sweeps/{sweep}/{point}/seed~{seed}/train.tsv"
    wildcard_constraints:
        sweep=get_sweep_names("indian_pines"),
        point=SWEEP_POINT,
    conda:
        "../envs/train.yaml"
    threads: get_tensorflow_threads()
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=1,
    params:
        training=get_training_options(),
        run=get_sweep_train_params,
        checkpoints=f"{SWEEP_DIR}/checkpoints",
    script:
        "../scripts/sweep_train_indian_pines.py"


rule vocabulary_sentiment_sweep:
    input:
        "results/sentiment/data/tokens.json",
    output:
        vocab=f"{SWEEP_SHARED}/sentiment/features~{{features}}/vocab.tsv",
        stats=f"{SWEEP_SHARED}/sentiment/features~{{features}}/stats.json",
    log:
        "logs/sweeps/_shared/sentiment/vocabulary_features~{features}.log",
    wildcard_constraints:
        features=r"\d+",
    conda:
        "../envs/nlp.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        max_features=get_sweep_features,
        sequence_length=None,
    script:
        "../scripts/sentiment_vocabulary.py"


rule encode_sentiment_sweep:
    input:
        tokens="results/sentiment/data/tokens.json",
        vocab=get_sweep_vocabulary,
    output:
        f"{SWEEP_SHARED}/sentiment/features~{{features}}/length~{{length}}/sequences.nc",
    log:
        "logs/sweeps/_shared/sentiment/encode_features~{features}_length~{length}.log",
    wildcard_constraints:
        features=r"\d+",
        length=r"\d+",
    conda:
        "../envs/nlp.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        sequence_length=get_sweep_length,
    script:
        "../scripts/sentiment_encode.py"


rule split_sentiment_sweep:
    input:
        f"{SWEEP_SHARED}/sentiment/features~{{features}}/length~{{length}}/sequences.nc",
    output:
        f"{SWEEP_SHARED}/sentiment/features~{{features}}/length~{{length}}/split_{{split}}.nc",
    log:
        "logs/sweeps/_shared/sentiment/split_{split}_features~{features}_length~{length}.log",
    wildcard_constraints:
        features=r"\d+",
        length=r"\d+",
        split="lecture|grouped",
    conda:
        "../envs/nlp.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        test_size=config["sentiment"]["test_size"],
        random_state=config["sentiment"]["split_random_state"],
    script:
        "../scripts/sentiment_split.py"


rule index_indian_pines_sweep:
    input:
        "results/indian_pines/data/normalised.nc",
    output:
        f"{SWEEP_SHARED}/indian_pines/window~{{window}}/patch_index.nc",
    log:
        "logs/sweeps/_shared/indian_pines/index_window~{window}.log",
    wildcard_constraints:
        window=r"\d+",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        window=get_sweep_window,
        padding=config["indian_pines"]["padding"],
    script:
        "../scripts/indian_pines_index.py"


rule split_indian_pines_sweep:
    input:
        "results/indian_pines/data/cube.nc",
    output:
        f"{SWEEP_SHARED}/indian_pines/splits/{{split}}/fraction~{{fraction}}/window~{{window}}.nc",
    log:
        "logs/sweeps/_shared/indian_pines/split_{split}_fraction~{fraction}_window~{window}.log",
    wildcard_constraints:
        split="random|disjoint",
        fraction=r"[0-9.e-]+",
        window=r"\d+",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        fraction=get_sweep_fraction,
        seed=config["indian_pines"]["split_seed"],
        guard=get_sweep_guard,
        window=get_sweep_window,
    script:
        "../scripts/indian_pines_split.py"


rule table_sweep:
    input:
        metrics=get_sweep_metrics,
    output:
        csv=report(
            "results/tables/sweep_{sweep}.csv",
            caption="../report/sweep_table.rst",
            category="Sweeps",
            subcategory="{sweep}",
            labels={"sweep": "{sweep}", "file": "comparison table (CSV)"},
        ),
        md="results/tables/sweep_{sweep}.md",
        plot=report(
            "results/tables/sweep_{sweep}.png",
            caption="../report/sweep_plot.rst",
            category="Sweeps",
            subcategory="{sweep}",
            labels={"sweep": "{sweep}", "file": "plot"},
        ),
    log:
        "logs/sweeps/table_{sweep}.log",
    wildcard_constraints:
        sweep=get_sweep_names(),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        table=get_sweep_table_params,
    script:
        "../scripts/sweep_table.py"
