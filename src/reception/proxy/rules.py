"""The rules of 网格员代办, pure: a filing's states, how consent is given, which stages count
as replied (the rating slip), and what a grid worker may see of his matter's case."""

from __future__ import annotations

from typing import Literal, get_args

Status = Literal["filed", "registered", "returned"]
STATUSES: tuple[str, ...] = get_args(Status)
STATUS_LABELS = {"filed": "待乡镇登记", "registered": "已登记为信访事项", "returned": "已退回"}
# 信访人同意代办: a signature on the 代办登记表, a fingerprint, or said aloud with the phone
# call recorded.
Consent = Literal["signed", "fingerprint", "recorded"]
CONSENTS: tuple[str, ...] = get_args(Consent)
CONSENT_LABELS = {"signed": "本人签字", "fingerprint": "本人按手印", "recorded": "电话录音同意"}
# A case's stages from the reply on: the petitioner may rate the reply on the public page.
REPLIED_STAGES = ("replied", "review", "re_review", "closed")
