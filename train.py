"""Train the paper models: ``python train.py --model NAME --data PATH`` (``--help`` for every option)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

import fer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=[*fer.list_models(), "all"], help="which model to train")
    parser.add_argument("--list-recipes", action="store_true", help="print each model's paper recipe as JSON and exit")
    args = parser.parse_args(argv)
    if args.list_recipes:
        recipes = {name: asdict(fer.get_spec(name).recipe) for name in fer.list_models()}
        print(json.dumps(recipes, indent=2))
        return
    parser.error("training arrives with the data pipeline; use --list-recipes to see the recipes")


if __name__ == "__main__":
    main()
