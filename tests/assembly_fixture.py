"""A tiny pool that can be solved by hand, shared by the assembly tests.

a: F young, b: F old, c: M young, d and e: M old. A panel of 2 with one of each sex and
age: the feasible panels are {a,d}, {a,e} and {b,c}. Maximin can give at most 1/3 to the
lowest (three panels share probability 1); LEXIMIN puts 1/3 on each, so a (on two) gets 2/3.
"""

from __future__ import annotations

import pandas as pd

POOL = pd.DataFrame(
    {
        "id": list("abcde"),
        "sex": ["F", "F", "M", "M", "M"],
        "age": ["young", "old", "young", "old", "old"],
    }
)
QUOTAS = pd.DataFrame(
    {
        "category": ["sex", "sex", "age", "age"],
        "value": ["F", "M", "young", "old"],
        "min": [1, 1, 1, 1],
        "max": [1, 1, 1, 1],
    }
)
