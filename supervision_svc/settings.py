"""The settings of supervision: warnings, rectifications, complaints, instructions, progress notices,
the limits on the public's complaints and lookups, and the county's rule of the monthly assessment."""
from __future__ import annotations

from pydantic import Field

from services.config import Settings

from .assessment import AssessmentRule


class SupervisionSettings(Settings):
    warn_share: float = Field(0.8, gt=0, lt=1, description="share of a limit used that raises a yellow warning")
    supervision_poll_seconds: float = Field(5.0, gt=0, le=3600, description="how often clocks are scanned")
    suggestion_after_reds: int = Field(3, ge=1, le=100, description="red warnings of a department in a month "
                                                                    "that make a supervision suggestion")
    rectification_days: int = Field(15, ge=1, le=60, description="working days to rectify a bad rating (整改)")
    complaint_limit_days: int = Field(15, ge=1, le=60, description="working days to answer a complaint (投诉)")
    instruction_reply_days: int = Field(5, ge=1, le=30, description="working days for a department to reply to "
                                                                    "the supervision office's instruction (督办)")
    progress_notice_days: int = Field(5, ge=1, le=20, description="working days within which a beyond-township "
                                                                  "applicant is told in writing how the case stands")
    complaints_per_client: int = Field(5, ge=1, le=10_000, description="complaints through the web front from one "
                                                                     "client address in the window")
    complaint_window_minutes: int = Field(60, ge=1, le=10_080, description="window of the per-client complaint limit")
    lookup_failures_per_complaint: int = Field(5, ge=1, le=1000, description="failed public complaint lookups on one "
                                                                             "complaint in the window before it is "
                                                                             "refused")
    lookup_failures_per_address: int = Field(30, ge=1, le=100_000, description="failed public complaint lookups from "
                                                                               "one client address in the window")
    lookup_window_minutes: int = Field(60, ge=1, le=10_080, description="window of the complaint lookup limits")
    # the monthly assessment of windows (月度考核) and the red-flag windows (红旗窗口): the county's rule
    assessment_min_acts: int = Field(20, ge=0, le=100_000, description="acceptances and decisions a window must "
                                                                       "have done in the month to be a red flag")
    assessment_min_on_time_rate: float = Field(1.0, ge=0, le=1, description="按时办结率 a red-flag window keeps")
    assessment_min_satisfaction_rate: float = Field(0.95, ge=0, le=1, description="测评满意率 a red-flag window "
                                                                                  "keeps")
    assessment_max_unrectified: int = Field(0, ge=0, le=1000, description="bad ratings of the month a red-flag "
                                                                          "window may leave unrectified")
    result_card_days: int = Field(5, ge=1, le=60, description="working days for a proxy agent to get the 办结反馈单 "
                                                              "of a concluded case signed before it warns")
    red_flag_windows: int = Field(3, ge=0, le=100, description="red-flag windows (红旗窗口) named a month, at most")

    def assessment_rule(self) -> AssessmentRule:
        return AssessmentRule(self.assessment_min_acts, self.assessment_min_on_time_rate,
                              self.assessment_min_satisfaction_rate, self.assessment_max_unrectified,
                              self.red_flag_windows)
