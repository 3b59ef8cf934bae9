# One download rule per dataset. They run on the login/head node of a cluster
# (compute nodes are often offline): see `localrules`.
#
# data_status: where a dataset's availability is not known at parse time (see "data
# availability" in common.smk), this checkpoint tries the acquisition (verified files are
# kept in resources/cache/<dataset>, so the fetch job downloads nothing twice) and writes
# whether the data can be had, real or stand-in, and why not. `rule all` and the report
# then request only the experiments whose data is available. Not used with strict_data.


localrules:
    data_status,
    fetch_mnist,


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
        fetch=lambda wildcards: get_fetch_params(
            wildcards.dataset, get_dataset_options(wildcards.dataset)
        ),
        cache=lambda wildcards: f"resources/cache/{wildcards.dataset}",
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
