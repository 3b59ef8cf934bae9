# SI650 sentiment: download -> tokenise -> vocabulary -> encode/pad -> split -> train ->
# evaluate (+ majority baseline, + Kaggle submission when testdata.txt exists) -> table.


localrules:
    table_sentiment,


rule tokenise_sentiment:
    input:
        raw="resources/si650/training.txt",
        manifest="resources/si650/manifest.json",
    output:
        "results/sentiment/data/tokens.json",
    log:
        "logs/sentiment/tokenise.log",
    benchmark:
        "benchmarks/sentiment/tokenise.tsv"
    conda:
        "../envs/nlp.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        on_malformed=config["sentiment"]["on_malformed"],
        sentence_splitter=config["sentiment"]["tokenizer"]["sentence_splitter"],
        word_tokenizer=config["sentiment"]["tokenizer"]["word_tokenizer"],
    script:
        "../scripts/sentiment_tokenise.py"


rule vocabulary_sentiment:
    input:
        "results/sentiment/data/tokens.json",
    output:
        vocab="results/sentiment/data/vocab.tsv",
        stats="results/sentiment/data/stats.json",
    log:
        "logs/sentiment/vocabulary.log",
    conda:
        "../envs/nlp.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        max_features=config["sentiment"]["max_features"],
        sequence_length=config["sentiment"]["sequence_length"],
    script:
        "../scripts/sentiment_vocabulary.py"


rule encode_sentiment:
    input:
        tokens="results/sentiment/data/tokens.json",
        vocab="results/sentiment/data/vocab.tsv",
    output:
        "results/sentiment/data/sequences.nc",
    log:
        "logs/sentiment/encode.log",
    conda:
        "../envs/nlp.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        sequence_length=config["sentiment"]["sequence_length"],
    script:
        "../scripts/sentiment_encode.py"


rule split_sentiment:
    input:
        "results/sentiment/data/sequences.nc",
    output:
        "results/sentiment/data/split_{split}.nc",
    log:
        "logs/sentiment/split_{split}.log",
    wildcard_constraints:
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


rule train_sentiment:
    input:
        data="results/sentiment/data/sequences.nc",
        split="results/sentiment/data/split_{split}.nc",
    output:
        model="results/sentiment/{split}/seed{seed}/model.keras",
        history=report(
            "results/sentiment/{split}/seed{seed}/history.csv",
            caption="../report/sentiment_history.rst",
            category=REPORT_CATEGORIES["sentiment"],
            subcategory="training histories",
            labels={"split": "{split}", "seed": "{seed}"},
        ),
    log:
        "logs/sentiment/train_{split}_seed{seed}.log",
    benchmark:
        "benchmarks/sentiment/train_{split}_seed{seed}.tsv"
    wildcard_constraints:
        split="lecture|grouped",
    conda:
        "../envs/train.yaml"
    threads: get_tensorflow_threads()
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        training=get_training_options(),
        run=get_sentiment_train_params,
        checkpoints="results/sentiment/{split}/seed{seed}/checkpoints",
    script:
        "../scripts/sentiment_train.py"


rule evaluate_sentiment:
    input:
        model="results/sentiment/{split}/seed{seed}/model.keras",
        data="results/sentiment/data/sequences.nc",
        split="results/sentiment/data/split_{split}.nc",
    output:
        "results/sentiment/{split}/seed{seed}/metrics.json",
    log:
        "logs/sentiment/evaluate_{split}_seed{seed}.log",
    benchmark:
        "benchmarks/sentiment/evaluate_{split}_seed{seed}.tsv"
    wildcard_constraints:
        split="lecture|grouped",
    conda:
        "../envs/train.yaml"
    threads: get_tensorflow_threads()
    resources:
        mem_mb=2000,
        runtime=10,
        gpu=1,
    params:
        run=get_sentiment_train_params,
    script:
        "../scripts/sentiment_evaluate.py"


rule baseline_sentiment:
    input:
        data="results/sentiment/data/sequences.nc",
        split="results/sentiment/data/split_{split}.nc",
    output:
        "results/sentiment/{split}/baseline.json",
    log:
        "logs/sentiment/baseline_{split}.log",
    wildcard_constraints:
        split="lecture|grouped",
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/sentiment_baseline.py"


rule predict_sentiment:
    input:
        model="results/sentiment/{split}/seed{seed}/model.keras",
        tokens="results/sentiment/data/tokens.json",
        vocab="results/sentiment/data/vocab.tsv",
    output:
        "results/sentiment/{split}/seed{seed}/testdata_predictions.txt",
    log:
        "logs/sentiment/predict_{split}_seed{seed}.log",
    benchmark:
        "benchmarks/sentiment/predict_{split}_seed{seed}.tsv"
    wildcard_constraints:
        split="lecture|grouped",
    conda:
        "../envs/train.yaml"
    threads: get_tensorflow_threads()
    resources:
        mem_mb=2000,
        runtime=10,
        gpu=1,
    params:
        sequence_length=config["sentiment"]["sequence_length"],
    script:
        "../scripts/sentiment_predict.py"


rule table_sentiment:
    input:
        metrics=get_sentiment_metrics(),
        baselines=get_sentiment_baselines(),
        stats="results/sentiment/data/stats.json",
        predictions=get_sentiment_predictions,
    output:
        csv=report(
            "results/tables/sentiment.csv",
            caption="../report/sentiment_table.rst",
            category=REPORT_CATEGORIES["sentiment"],
            subcategory="tables",
        ),
        md="results/tables/sentiment.md",
    log:
        "logs/tables/sentiment.log",
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config_hash=get_config_hash(),
    script:
        "../scripts/sentiment_table.py"
