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
RATING_LEVELS_BY_NUMBER = dict(RATING_LEVELS)
STEP = PUBLIC_STEPS  # a history entry's kind, as the applicant is told it
OWED_FOR = {"one_time_notice": "一次性告知", "commitment": "容缺承诺", "department": "部门要求补正"}
TASK_STATUS = {"assigned": "待签收", "claimed": "办理中", "waiting_supplement": "待补正材料",
               "special_procedure": "特别程序中", "suspended": "已挂起", "decided": "已决定", "withdrawn": "已撤回"}
TASK_STATUS_BY_NUMBER = {1: "assigned", 2: "claimed", 3: "waiting_supplement", 4: "special_procedure", 5: "suspended",
                         6: "decided", 7: "withdrawn"}  # the desk API's TaskStatus
TASK_ROLE = {1: "牵头", 2: "并联", 3: "协办"}
PROCEDURE = {"expert_review": "专家评审", "hearing": "听证", "inspection": "现场勘查、检验检测", "public_notice": "公示"}
SIGN_OFF_STEP = {"approver": "审批人", "checker": "核准人"}
PROGRESS_STATUS = {"in_handling": "办理中", "concluded": "已办结", "withdrawn": "已撤回"}
# the supervision office's words: what a warning watches, where its 督办 stands, faults, complaints
WARNING_STEP = {"case": "办件时限", "transfer": "转办时限", "task": "承办时限", "co_handling": "协办时限",
                "commitment": "容缺承诺", "rectification": "差评整改", "complaint": "投诉答复", "instruction": "督办答复",
                "result_card": "办结反馈单签收"}
WARNING_STATE = {"open": "未督办", "awaiting_reply": "已督办待答复", "replied": "已答复", "late_reply": "逾期答复",
                 "withdrawn": "按时办结已撤销"}
FAULT_KIND = {"accepted_twice": "两头受理", "late_transfer": "转办超时", "no_legal_basis": "决定无法律依据"}
RESOLUTION = {"fixed": "立行立改", "ledger": "限期整改（列入台账）", "explained": "解释说明", "voided": "申诉成立，评价作废"}
COMPLAINT_CHANNEL = {1: "电话", 2: "来信", 3: "意见箱", 4: "网上投诉"}
FIGURE_GROUP = {"overall": "全县", "department": "按部门", "item": "按事项", "level": "按层级", "channel": "按渠道",
                "centre": "按中心", "window": "按窗口", "person": "按人员"}
COUNT = {"received": "接待人次", "accepted": "受理", "concluded": "办结", "concluded_on_time": "按时办结",
         "immediate": "即办件", "consulted": "咨询", "ratings": "评价", "satisfied": "满意", "dissatisfied": "不满意",
         "complaints": "投诉", "fees_collected": "收费件数", "rectified": "已整改", "concluded_on_site": "现场办结",
         "concluded_late": "逾期办结"}
RATIO = {"entry_rate": "项目录入率", "window_authorisation_rate": "窗口授权率", "on_site_rate": "现场办结率",
         "on_time_rate": "按时办结率", "satisfaction_rate": "测评满意率", "complaint_rate": "投诉率",
         "compression_ratio": "法定时限压缩比", "immediate_share": "即办件占比", "dissatisfaction_rate": "不满意率",
         "follow_up_rate": "回访率"}
WARNING_GROUP = {"department": "按部门", "item": "按事项", "level": "按层级", "centre": "按中心"}
WARNING_GROUP_HEAD = {"department": "部门", "item": "事项", "level": "层级", "centre": "中心"}
WARNING_FILTER = {"open": "未答复", "instructed": "已督办待答复", "late": "逾期答复"}
WARNING_FILTER_NAME = {"department": "部门", "item": "事项", "level": "层级", "centre": "中心", "colour": "颜色",
                       "state": "督办状态"}
COLOUR = {"yellow": "黄牌", "red": "红牌"}
# the proxy agent's ledger (代办台账): what a case waits for from its agent, how the applicant signed its card
AGENT_TODO = {"materials": "送交材料", "result": "领取并送达办理结果", "card": "办结反馈单待签收",
              "handover": "确认接收移交的办件"}
CARRY = {"papers": "送件：本次受理的案卷", "materials": "送交补正材料", "handover": "移交乡级代办员",
         "result": "领回办理结果"}
AGENT_ROLE = {"carrier": "乡级代办员，代为办理", "receiving": "待确认接收", "accompanied": "带领申请人到场办理"}
CARD_MARK = {"signature": "签字", "thumbprint": "按手印"}
