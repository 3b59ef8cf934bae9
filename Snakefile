from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data_common.smk"
include: "rules/data.smk"
include: "rules/sweeps_common.smk"
include: "rules/mnist.smk"
include: "rules/sentiment.smk"
include: "rules/indian_pines.smk"
include: "rules/report.smk"
include: "rules/sweeps.smk"


onstart:
    check_slurm_submissions()


onsuccess:
    print_data_summary()


onerror:
    print_data_summary()


rule all:
    input:
        get_final_output(),
