"""medchat evaluation harness: medical exams (mcq), entity extraction (ner), reference dialogues
(dialogue), attitude-scale bias probing (bias), pairwise judged free-form answers (judge), and
comparison of runs (compare). Every task is a ``runner.Task`` driven by ``runner.run_task``; exam files are
read by exams.py, reasoning stripped by answers.py. Run ``python -m evaluation --help``; docs/evaluation.md
explains each task."""
