# Data: where every dataset's raw files come from, and whether an experiment's data can be
# had. Every download rule is here; they run on the login/head node of a cluster (compute
# nodes are often offline): see `localrules`.
#
# Data availability (helpers in rules/data_common.smk): whether an experiment's data can be
# had is decided at parse time where that is cheap and certain (dlrepro.datasets.known_status:
# synthetic / embedded sources, an earlier fetch, every file in data_mirror or
# resources/cache, auto with an embedded fallback, strict_data). Otherwise the checkpoint
# data_status tries the acquisition (verified files are kept in resources/cache/<dataset>, so
# the fetch job downloads nothing twice) and writes resources/status/<dataset>.json: whether
# the data can be had, real or stand-in, and why not. `rule all` and the report then request
# only the experiments whose data is available (when_available). Not used with strict_data.


localrules:
    data_status,
    fetch_mnist,
    fetch_si650,
    fetch_indian_pines,
    fetch_indian_pines_stand_in,


checkpoint data_status:
    output:
        DATA_STATUS,
    log:
        "logs/fetch/status_{dataset}.log",
    wildcard_constraints:
        dataset="mnist|si650|indian_pines",
    conda:
        "../envs/data.yaml"
    params:
        fetch=get_status_fetch_params,
        cache="resources/cache/{dataset}",
    script:
        "../scripts/data_status.py"


rule fetch_mnist:
    input:
        get_user_files("mnist"),
    output:
        files=get_raw_files("mnist", "resources/mnist"),
        manifest="resources/mnist/manifest.json",
    log:
        "logs/fetch/mnist.log",
    conda:
        "../envs/data.yaml"
    params:
        fetch=get_fetch_params("mnist"),
        cache="resources/cache/mnist",
    script:
        "../scripts/fetch_dataset.py"


# A checkpoint: whether the optional testdata.txt was obtained decides whether a Kaggle
# submission is built (see get_sentiment_predictions).
checkpoint fetch_si650:
    input:
        get_user_files("si650"),
    output:
        files=get_raw_files("si650", "resources/si650"),
        manifest="resources/si650/manifest.json",
    log:
        "logs/fetch/si650.log",
    conda:
        "../envs/data.yaml"
    params:
        fetch=get_fetch_params("si650"),
        cache="resources/cache/si650",
    script:
        "../scripts/fetch_dataset.py"


rule fetch_indian_pines:
    output:
        files=get_raw_files(
            "indian_pines", "resources/indian_pines", get_indian_pines_options()
        ),
        manifest="resources/indian_pines/manifest.json",
    log:
        "logs/fetch/indian_pines.log",
    conda:
        "../envs/data.yaml"
    params:
        fetch=get_fetch_params("indian_pines", get_indian_pines_options()),
        cache="resources/cache/indian_pines",
    script:
        "../scripts/fetch_dataset.py"


# source auto, configured files (e.g. the Purdue ground truth) not obtainable: the embedded
# tensorly copy (200 bands, EHU ground truth) replaces them, labelled stand-in (data_status).
rule fetch_indian_pines_stand_in:
    output:
        files=get_raw_files(
            "indian_pines",
            "resources/indian_pines/stand-in",
            STAND_IN_FALLBACK["indian_pines"],
        ),
        manifest="resources/indian_pines/stand-in/manifest.json",
    log:
        "logs/fetch/indian_pines_stand_in.log",
    conda:
        "../envs/data.yaml"
    params:
        fetch=get_fetch_params(
            "indian_pines", STAND_IN_FALLBACK["indian_pines"], source="embedded"
        ),
        cache="resources/cache/indian_pines",
    script:
        "../scripts/fetch_dataset.py"
