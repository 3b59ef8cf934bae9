# Reporting: the reproduction table (every lecture figure beside ours), plots of every
# configured model, HTML pages of the tables and the workflow's rule graph. Only these jobs
# read the `reporting:` config section, so changing a tolerance reruns nothing upstream.
# The HTML report: snakemake --report results/report.html (after the main job).


localrules:
    report_reproduction,
    report_table_html,
    report_plots,
    report_rulegraph,
    report_comparison,


rule report_reproduction:
    input:
        mnist=get_reproduction_input("mnist"),
        sentiment=get_reproduction_input("sentiment"),
        baselines=get_reproduction_input("baselines"),
        indian_pines=get_reproduction_input("indian_pines"),
        status=get_reproduction_status_input(),
    output:
        csv=report(
            "results/tables/reproduction.csv",
            caption="../report/reproduction.rst",
            category="Reproduction",
            subcategory="reproduction table",
            labels={"table": "reproduction", "format": "CSV (download)"},
        ),
        md="results/tables/reproduction.md",
        html=report(
            "results/tables/reproduction.html",
            caption="../report/reproduction.rst",
            category="Reproduction",
            subcategory="reproduction table",
            labels={"table": "reproduction", "format": "HTML"},
        ),
    log:
        "logs/report/reproduction.log",
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        tolerances=config["reporting"]["tolerances"],
        experiments=config["experiments"],
        data=get_data_report_params,
        config_hash=get_config_hash(reporting=True),
    script:
        "../scripts/report_reproduction.py"


# This run's reproduction table beside another run's (config reporting.compare_with: another
# commit, machine, Keras backend or seeds); in rule all only when that key is set.
rule report_comparison:
    input:
        unpack(get_comparison_input),
    output:
        csv="results/tables/comparison.csv",
        md="results/tables/comparison.md",
        html=report(
            "results/tables/comparison.html",
            caption="../report/comparison.rst",
            category="Reproduction",
            subcategory="comparison with another run",
            labels={"table": "comparison", "format": "HTML"},
        ),
    log:
        "logs/report/comparison.log",
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=300,
        runtime=5,
    params:
        compare_with=config["reporting"]["compare_with"],
    script:
        "../scripts/report_comparison.py"


rule report_table_html:
    input:
        "results/tables/{table}.md",
    output:
        report(
            "results/tables/{table}.html",
            caption="../report/table_html.rst",
            category=get_report_category,
            subcategory="tables",
            labels={"table": "{table}", "format": "HTML"},
        ),
    log:
        "logs/report/table_html_{table}.log",
    wildcard_constraints:
        table="|".join(REPORT_CATEGORIES),
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=200,
        runtime=5,
    script:
        "../scripts/report_table_html.py"


rule report_plots:
    input:
        unpack(get_plot_input),
    output:
        curves=report(
            "results/plots/{experiment}/{setting}_curves.png",
            caption="../report/plot_curves.rst",
            category=get_report_category,
            subcategory="training curves",
            labels=get_plot_labels,
        ),
        confusion=report(
            "results/plots/{experiment}/{setting}_confusion.png",
            caption="../report/plot_confusion.rst",
            category=get_report_category,
            subcategory="confusion matrices",
            labels=get_plot_labels,
        ),
    log:
        "logs/report/plots_{experiment}_{setting}.log",
    wildcard_constraints:
        experiment="|".join(REPORT_CATEGORIES),
        setting=r"[A-Za-z0-9_]+",
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        title=get_plot_title,
        validation_name=get_plot_validation_name,
    script:
        "../scripts/report_plots.py"


# `snakemake --rulegraph` with this job's config, rendered by graphviz dot (auto, when on
# PATH) or matplotlib; reruns when a rule file changes or an experiment is switched.
rule report_rulegraph:
    input:
        get_workflow_sources(),
    output:
        svg=report(
            "results/plots/workflow/rulegraph.svg",
            caption="../report/rulegraph.rst",
            category="Rule graph",
            subcategory="rule graph",
        ),
        dot="results/plots/workflow/rulegraph.dot",
        renderer="results/plots/workflow/rulegraph.json",
    log:
        "logs/report/rulegraph.log",
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        renderer=config["reporting"]["rulegraph_renderer"],
        experiments=config["experiments"],
    script:
        "../scripts/report_rulegraph.py"
