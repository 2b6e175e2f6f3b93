"""MedInstruct-style data generation (the AlpaCare pipeline) for any language and specialty.

seed tasks -> ``tasks`` (a model writes batches of new tasks, parsed and filtered for near
duplicates by ROUGE-L) -> ``responses`` (a second model answers them) -> SFT records
``{instruction, input, output}`` for ``python -m training sft``.

    python -m datagen tasks --seeds data/samples/seeds_zh.json --num 100 --out tasks.jsonl \\
        --base-url http://127.0.0.1:8000/v1 --api-model medchat
    python -m datagen responses --tasks tasks.jsonl --out sft.jsonl --base-url URL --api-model NAME
    python -m datagen stats tasks.jsonl

Modules: records.py (task/record files, resume), prompts.py (the request and the parser),
dedup.py (the exact fast ROUGE-L filter), run.py (both stages: backends, concurrency, resume,
progress), stats.py (counts and the report).
"""
