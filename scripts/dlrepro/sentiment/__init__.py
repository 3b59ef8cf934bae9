"""SI650 sentiment (UMICH SI650, Kaggle in-class si650winter11): parsing, NLTK tokenisation,
vocabulary, index sequences, splits, the lecture's LSTM, evaluation and the result table.

Stages (each a Snakemake rule, see ``rules/sentiment.smk``)::

    training.txt --parse/tokenise--> tokens.json --count--> vocab.tsv + stats.json
        --encode/pad--> sequences.nc --split--> splits/{lecture,grouped}.nc
        --train (dlrepro.training.fit)--> model.keras --evaluate--> metrics.json --> table

Package layout (one module per stage; every public name is re-exported here, so
``from dlrepro.sentiment import X`` keeps working): ``sources`` (constants, raw files, the
Kaggle download, the synthetic corpus written under the canonical names, dataset spec),
``corpus`` (parsing ``label<TAB>sentence`` lines: the input policy; the unlabelled
testdata.txt), ``tokenise`` (the NLTK tokenisers, offline Punkt, corpus statistics),
``vocabulary`` (the most frequent words, ``vocab.tsv``), ``sequences`` (encoding,
padding/truncation, ``sequences.nc``), ``splits``, ``model`` (the lecture's LSTM and its
variants), ``evaluation`` (all / unseen / distinct test rows, majority baseline, Kaggle
submission), ``table``, ``synthetic`` (the synthetic corpus).
"""

from .corpus import Corpus, dropped_bytes_example, parse_labelled, read_unlabelled, warn_dropped_bytes
from .evaluation import evaluate_subsets, majority_baseline, submission_text
from .model import VARIANTS, build_model, predict_labels
from .sequences import encode, input_ids, longer_than, pad_sequences, to_dataset, warn_truncated
from .sources import (
    HOW_TO_GET,
    KAGGLE_COMPETITION,
    KAGGLE_URL,
    LABEL_NAMES,
    LABELLED_FILE,
    ON_MALFORMED,
    PAD,
    PAD_TOKEN,
    PUNKT_PACKAGE,
    SENTENCE_SPLITTERS,
    SPLITS,
    TEST_FILE,
    TRAINING_CHECKSUMS,
    UNK,
    UNK_TOKEN,
    WORD_TOKENIZERS,
    kaggle_download,
    raw_variant,
    si650_spec,
    write_synthetic,
)
from .splits import overlap_stats, split_indices
from .synthetic import FILLER, NEGATIVE, POSITIVE, SUBJECTS, synthetic_corpus, synthetic_sentence
from .table import SPLIT_TITLES, SUBSET_TITLES, sentiment_table, table_notes
from .tokenise import (
    Tokenizer,
    compare_tokenizers,
    corpus_stats,
    corpus_text,
    make_tokenizer,
    punkt_english_parameters,
    punkt_package_version,
)
from .vocabulary import Vocabulary, build_vocabulary, read_vocabulary, write_vocabulary

__all__ = [
    "Corpus",
    "FILLER",
    "HOW_TO_GET",
    "KAGGLE_COMPETITION",
    "KAGGLE_URL",
    "LABELLED_FILE",
    "LABEL_NAMES",
    "NEGATIVE",
    "ON_MALFORMED",
    "PAD",
    "PAD_TOKEN",
    "POSITIVE",
    "PUNKT_PACKAGE",
    "SENTENCE_SPLITTERS",
    "SPLITS",
    "SPLIT_TITLES",
    "SUBJECTS",
    "SUBSET_TITLES",
    "TEST_FILE",
    "TRAINING_CHECKSUMS",
    "Tokenizer",
    "UNK",
    "UNK_TOKEN",
    "VARIANTS",
    "Vocabulary",
    "WORD_TOKENIZERS",
    "build_model",
    "build_vocabulary",
    "compare_tokenizers",
    "corpus_stats",
    "corpus_text",
    "dropped_bytes_example",
    "encode",
    "evaluate_subsets",
    "input_ids",
    "kaggle_download",
    "longer_than",
    "majority_baseline",
    "make_tokenizer",
    "overlap_stats",
    "pad_sequences",
    "parse_labelled",
    "predict_labels",
    "punkt_english_parameters",
    "punkt_package_version",
    "raw_variant",
    "read_unlabelled",
    "read_vocabulary",
    "sentiment_table",
    "si650_spec",
    "split_indices",
    "submission_text",
    "synthetic_corpus",
    "synthetic_sentence",
    "table_notes",
    "to_dataset",
    "warn_dropped_bytes",
    "warn_truncated",
    "write_synthetic",
    "write_vocabulary",
]
