"""What the pages call the APIs' codes (Chinese msgids, translated by the catalogue)."""
from __future__ import annotations

from hall.domain import PUBLIC_STEPS

CASE_STATUS = {
    "accepted": "已受理", "accepted_with_commitment": "容缺受理", "supplement_required": "待补齐材料（一次性告知）",
    "not_accepted": "不予受理", "consulted": "咨询已答复", "in_handling": "办理中", "waiting_supplement": "待补正材料",
    "concluded": "已办结", "withdrawn": "已撤回",
}
CASE_KIND = {0: "", 1: "即办件", 2: "承诺件", 3: "联办件", 4: "上报件", 5: "退回件"}
LEVEL = {"village": "村（社区）便民服务室", "township": "乡镇便民服务中心", "county": "县政务服务中心"}
RESULT = {"issued": "准予（出证）", "returned": "退回", "voided": "作废", "deleted": "删除", "reported_up": "已转报上级机关",
          "supplement_timeout": "补正超时驳回", "concluded": "办结", "rejected": "不予许可"}
RATING_LEVELS = ((5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意"))
STEP = PUBLIC_STEPS  # a history entry's kind, as the applicant is told it
OWED_FOR = {"one_time_notice": "一次性告知", "commitment": "容缺承诺", "department": "部门要求补正"}
TASK_STATUS = {"assigned": "待签收", "claimed": "办理中", "waiting_supplement": "待补正材料",
               "special_procedure": "特别程序中", "suspended": "已挂起", "decided": "已决定", "withdrawn": "已撤回"}
TASK_ROLE = {1: "牵头", 2: "并联", 3: "协办"}
PROCEDURE = {"expert_review": "专家评审", "hearing": "听证", "inspection": "现场勘查、检验检测", "public_notice": "公示"}
SIGN_OFF_STEP = {"approver": "审批人", "checker": "核准人"}
PROGRESS_STATUS = {"in_handling": "办理中", "concluded": "已办结", "withdrawn": "已撤回"}
