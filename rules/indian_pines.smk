# Indian Pines: download -> NetCDF cube -> normalisation -> patch index (pixel coordinates;
# the windows are gathered per batch from the normalised cube) -> split ({split}:
# random | disjoint) -> training (per seed) -> evaluation -> maps -> table.


localrules:
    table_indian_pines,


rule convert_indian_pines:
    input:
        unpack(get_raw_input("indian_pines")),
    output:
        "results/indian_pines/data/cube.nc",
    log:
        "logs/indian_pines/convert.log",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        bands=config["datasets"]["indian_pines"]["bands"],
        ground_truth=config["datasets"]["indian_pines"]["ground_truth"],
        scene=get_indian_pines_scene(),
    script:
        "../scripts/indian_pines_convert.py"


rule normalise_indian_pines:
    input:
        "results/indian_pines/data/cube.nc",
    output:
        "results/indian_pines/data/normalised.nc",
    log:
        "logs/indian_pines/normalise.log",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        mode=config["indian_pines"]["normalisation"],
    script:
        "../scripts/indian_pines_normalise.py"


rule index_indian_pines:
    input:
        "results/indian_pines/data/normalised.nc",
    output:
        "results/indian_pines/data/patch_index.nc",
    log:
        "logs/indian_pines/index.log",
    benchmark:
        "benchmarks/indian_pines/index.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        window=config["indian_pines"]["window"],
        padding=config["indian_pines"]["padding"],
    script:
        "../scripts/indian_pines_index.py"


rule split_indian_pines:
    input:
        "results/indian_pines/data/cube.nc",
    output:
        "results/indian_pines/splits/{split}.nc",
    log:
        "logs/indian_pines/split_{split}.log",
    wildcard_constraints:
        split="random|disjoint",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        fraction=config["indian_pines"]["train_fraction"],
        seed=config["indian_pines"]["split_seed"],
        guard=get_indian_pines_guard(),
        window=config["indian_pines"]["window"],
    script:
        "../scripts/indian_pines_split.py"


rule train_indian_pines:
    input:
        index="results/indian_pines/data/patch_index.nc",
        normalised="results/indian_pines/data/normalised.nc",
        split="results/indian_pines/splits/{split}.nc",
    output:
        model="results/indian_pines/{split}/seed{seed}/model.keras",
        history="results/indian_pines/{split}/seed{seed}/history.csv",
    log:
        "logs/indian_pines/train_{split}_seed{seed}.log",
    benchmark:
        "benchmarks/indian_pines/train_{split}_seed{seed}.tsv"
    wildcard_constraints:
        split="random|disjoint",
    conda:
        "../envs/train.yaml"
    threads: get_tensorflow_threads()
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=1,
    params:
        training=get_training_options(),
        run=get_indian_pines_train_params(),
        checkpoints="results/indian_pines/{split}/seed{seed}/checkpoints",
    script:
        "../scripts/indian_pines_train.py"


rule evaluate_indian_pines:
    input:
        model="results/indian_pines/{split}/seed{seed}/model.keras",
        index="results/indian_pines/data/patch_index.nc",
        normalised="results/indian_pines/data/normalised.nc",
        split="results/indian_pines/splits/{split}.nc",
    output:
        metrics="results/indian_pines/{split}/seed{seed}/metrics.json",
        predictions="results/indian_pines/{split}/seed{seed}/predictions.nc",
    log:
        "logs/indian_pines/evaluate_{split}_seed{seed}.log",
    benchmark:
        "benchmarks/indian_pines/evaluate_{split}_seed{seed}.tsv"
    wildcard_constraints:
        split="random|disjoint",
    conda:
        "../envs/train.yaml"
    threads: get_tensorflow_threads()
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=1,
    params:
        run=get_indian_pines_train_params(),
    script:
        "../scripts/indian_pines_evaluate.py"


rule maps_indian_pines:
    input:
        "results/indian_pines/{split}/seed{seed}/predictions.nc",
    output:
        report(
            "results/indian_pines/{split}/seed{seed}/maps.png",
            caption="../report/indian_pines_maps.rst",
            category=REPORT_CATEGORIES["indian_pines"],
            subcategory="maps",
            labels={"split": "{split}", "seed": "{seed}"},
        ),
    log:
        "logs/indian_pines/maps_{split}_seed{seed}.log",
    wildcard_constraints:
        split="random|disjoint",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/indian_pines_maps.py"


rule table_indian_pines:
    input:
        metrics=get_indian_pines_runs("metrics.json"),
    output:
        csv=report(
            "results/tables/indian_pines.csv",
            caption="../report/indian_pines_table.rst",
            category=REPORT_CATEGORIES["indian_pines"],
            subcategory="tables",
        ),
        md="results/tables/indian_pines.md",
    log:
        "logs/tables/indian_pines.log",
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config_hash=get_config_hash(),
    script:
        "../scripts/indian_pines_table.py"
