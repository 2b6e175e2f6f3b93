"""medchat evaluation harness: medical exams (mcq), entity extraction (ner), reference dialogues
(dialogue), attitude-scale bias probing (bias), pairwise judged free-form answers (judge), and
comparison of runs (compare). Run ``python -m evaluation --help``; docs/evaluation.md explains each task."""
