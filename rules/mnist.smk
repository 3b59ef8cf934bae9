# MNIST: normalisation -> validation split -> training -> evaluation -> table.


localrules:
    table_mnist,


rule normalise_mnist:
    input:
        unpack(get_mnist_part),
    output:
        "results/mnist/data/{part}.nc",
    log:
        "logs/mnist/normalise_{part}.log",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/mnist_normalise.py"


rule split_mnist:
    input:
        train="results/mnist/data/train.nc",
        test="results/mnist/data/test.nc",
    output:
        "results/mnist/data/validation.nc",
    log:
        "logs/mnist/split.log",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        fraction=config["mnist"]["validation_fraction"],
        method=config["mnist"]["validation_method"],
        seed=config["mnist"]["split_seed"],
    script:
        "../scripts/mnist_split.py"


rule train_mnist:
    input:
        train="results/mnist/data/train.nc",
        split="results/mnist/data/validation.nc",
    output:
        model="results/mnist/{model}/e{epochs}/seed{seed}/model.keras",
        history=report(
            "results/mnist/{model}/e{epochs}/seed{seed}/history.csv",
            caption="../report/mnist_history.rst",
            category=REPORT_CATEGORIES["mnist"],
            subcategory="training histories",
            labels={"model": "{model}", "epochs": "{epochs}", "seed": "{seed}"},
        ),
    log:
        "logs/mnist/train_{model}_e{epochs}_seed{seed}.log",
    benchmark:
        "benchmarks/mnist/train_{model}_e{epochs}_seed{seed}.tsv"
    conda:
        "../envs/train.yaml"
    threads: get_tensorflow_threads()
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=1,
    params:
        training=get_training_options(),
        run=get_mnist_train_params,
        checkpoints="results/mnist/{model}/e{epochs}/seed{seed}/checkpoints",
    script:
        "../scripts/mnist_train.py"


rule evaluate_mnist:
    input:
        model="results/mnist/{model}/e{epochs}/seed{seed}/model.keras",
        test="results/mnist/data/test.nc",
    output:
        "results/mnist/{model}/e{epochs}/seed{seed}/metrics.json",
    log:
        "logs/mnist/evaluate_{model}_e{epochs}_seed{seed}.log",
    benchmark:
        "benchmarks/mnist/evaluate_{model}_e{epochs}_seed{seed}.tsv"
    conda:
        "../envs/train.yaml"
    threads: get_tensorflow_threads()
    resources:
        mem_mb=2000,
        runtime=10,
        gpu=1,
    params:
        run=get_mnist_train_params,
    script:
        "../scripts/mnist_evaluate.py"


rule table_mnist:
    input:
        metrics=get_mnist_metrics(),
    output:
        csv=report(
            "results/tables/mnist.csv",
            caption="../report/mnist_table.rst",
            category=REPORT_CATEGORIES["mnist"],
            subcategory="tables",
        ),
        md="results/tables/mnist.md",
    log:
        "logs/tables/mnist.log",
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config_hash=get_config_hash(),
    script:
        "../scripts/mnist_table.py"
