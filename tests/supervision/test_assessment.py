"""The monthly assessment's rule (月度考核, 红旗窗口), pure: figures by window in, each window's basis,
shortfalls, rank and red flag out."""
from __future__ import annotations

from hall.reference import load_reference
from supervision_svc.assessment import AssessmentRule, assess
from supervision_svc.figures import Counts, Figures
from tooling.settings import SystemSettings

ORG = load_reference(SystemSettings()).org
RULE = AssessmentRule(min_acts=10, min_on_time_rate=0.9, min_satisfaction_rate=0.9, max_unrectified=0, red_flags=2)


def window(code: str, accepted: int = 10, concluded: int = 10, on_time: int = 10, ratings: int = 10,
           satisfied: int = 10, rectified: int = 0) -> Figures:
    return Figures(Counts(key=code, accepted=accepted, concluded=concluded, concluded_on_time=on_time,
                          ratings=ratings, satisfied=satisfied, dissatisfied=ratings - satisfied,
                          rectified=rectified))


def flags(*figures: Figures, rule: AssessmentRule = RULE) -> dict[str, tuple]:
    return {a.window: (a.rank, a.red_flag) for a in assess(list(figures), ORG, rule)}


def test_the_best_qualified_windows_by_satisfaction_then_on_time_then_acts_carry_the_red_flags():
    assessed = flags(
        window("county-window-civil-affairs", ratings=20, satisfied=19, rectified=1),  # 95 %
        window("county-window-health", ratings=10, satisfied=10),  # 100 %, on time 100 %
        window("county-window-taxation", ratings=10, satisfied=10, on_time=9),  # 100 %, on time 90 %
        window("county-window-forestry", ratings=10, satisfied=10, accepted=30),  # ties health, more acts
    )
    assert assessed == {"county-window-forestry": (1, True), "county-window-health": (2, True),
                        "county-window-taxation": (3, False), "county-window-civil-affairs": (4, False)}


def test_each_shortfall_is_named_and_keeps_a_window_from_the_flag():
    found = {a.window: a.shortfalls for a in assess([
        window("county-window-health", accepted=4, concluded=5),
        window("county-window-taxation", on_time=8),
        window("county-window-forestry", satisfied=8, rectified=1),
        window("county-window-agriculture", ratings=0, satisfied=0),
        window("county-office-water"),
        window(""),  # nothing to name it by: not assessed
    ], ORG, RULE)}
    assert found == {
        "county-window-health": ("9 acts, fewer than 10",),
        "county-window-taxation": ("on time 80.0%, below 90.0%",),
        "county-window-forestry": ("satisfied 80.0%, below 90.0%", "1 bad rating(s) not rectified"),
        "county-window-agriculture": ("no ratings",),
        "county-office-water": ("not a window serving the public",),
    }


def test_a_desk_or_a_village_room_decides_nothing_and_has_nothing_late():
    assessed = flags(window("county-desk", concluded=0, on_time=0),
                     window("zhangqiao-liugang-room", concluded=0, on_time=0, accepted=9),
                     rule=AssessmentRule(min_acts=10, red_flags=5))
    assert assessed == {"county-desk": (1, True), "zhangqiao-liugang-room": (0, False)}


def test_no_red_flag_when_the_county_names_none():
    assert flags(window("county-window-health"), rule=AssessmentRule(min_acts=1, red_flags=0)) == {
        "county-window-health": (1, False)}
