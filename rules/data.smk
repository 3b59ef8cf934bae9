# One download rule per dataset. They run on the login/head node of a cluster
# (compute nodes are often offline): see `localrules`.


localrules:
    fetch_mnist,


rule fetch_mnist:
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
