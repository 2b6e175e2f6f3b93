"""Harmful-request rules (refused, no emergency notice): harming others, forgery, controlled drugs. Not runnable.
"""

from safety.rule import Rule, _r

# fmt: off
HARM_RULES: tuple[Rule, ...] = (
    _r("harm_others", "harm_others_request", emergency=False, refuse=True,
       why="request to poison, drug or kill someone"),
    _r("harm_others", "make_someone_take", "covert", emergency=False, refuse=True,
       why="making someone take something without their knowledge"),
    _r("forgery", "forgery_request", emergency=False, refuse=True,
       why="request to forge prescriptions or medical documents"),
    _r("forgery", "document_request", "document_official|controlled_drug", emergency=False, refuse=True,
       why="asking the assistant to make a sick note, certificate or prescription with a stamp or letterhead, for an employer, or for a controlled drug"),
    _r("controlled_drugs", "controlled_drug", "illicit_acquisition", emergency=False, refuse=True,
       why="request to obtain controlled drugs without a prescription or by deceit"),
    _r("controlled_drugs", "controlled_drug", "acquire_question", "no_prescription", emergency=False, refuse=True,
       why="asking where/how to get a controlled drug without a prescription"),
    _r("controlled_drugs", "drug_synthesis", emergency=False, refuse=True,
       why="request to make illicit drugs"),
)
# fmt: on
