"""medchat training: continued pre-training, SFT, reward model, online RL (GRPO, RLOO, rejection
sampling) and DPO on TRL and peft, with LoRA/QLoRA, recipes, resume and the offline demo model.

    python -m training --help
"""
