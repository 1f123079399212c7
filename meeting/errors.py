"""Every refusal the service can give, with a stable code and its words in Vietnamese and English.

The code is what clients and tests match on; the messages are for people. Keeping both languages
in this one table is what lets the browser apps, the API and the hub say the same thing.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    # generic
    "bad_request": ("Yêu cầu không hợp lệ: {detail}", "Invalid request: {detail}"),
    "not_found": ("Không tìm thấy {what}.", "{what} not found."),
    "conflict": ("Xung đột dữ liệu: {detail}", "Conflict: {detail}"),
    "unauthenticated": ("Cần đăng nhập.", "You need to sign in."),
    "bad_credentials": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."),
    "too_many_attempts": (
        "Đăng nhập sai quá nhiều lần. Xin thử lại sau {minutes} phút.",
        "Too many failed sign-ins. Try again in {minutes} min.",
    ),
    "token_expired": ("Phiên đăng nhập đã hết hạn.", "Your session has expired."),
    "token_invalid": ("Mã truy cập không hợp lệ.", "The access token is not valid."),
    "invite_invalid": ("Liên kết mời không hợp lệ hoặc đã hết hạn.", "The invite link is invalid or has expired."),
    "forbidden": ("Bạn không có quyền thực hiện việc này.", "You are not allowed to do this."),
    "last_secretary": (
        "Chi bộ phải luôn có một bí thư đang sinh hoạt và có tài khoản đăng nhập: hãy giao vai trò bí thư cho "
        "đồng chí khác trước.",
        "The branch must always keep an active secretary with a login: make someone else secretary first.",
    ),
    "internal": ("Lỗi hệ thống, vui lòng thử lại.", "Internal error, please try again."),
    "not_ready": ("Dịch vụ chưa sẵn sàng: {detail}.", "The service is not ready: {detail}."),
    # the live connection
    "bad_frame": ("Gói tin không hợp lệ: {detail}", "Invalid frame: {detail}"),
    "hello_first": ("Cần gửi lời chào (hello) kèm mã truy cập trước.", "Send hello with a token first."),
    "hall_not_allowed": (
        "Chỉ chủ trì hoặc thư ký mới mở được màn hình hội trường.",
        "Only the chair or the clerk may open the hall station.",
    ),
    "not_owner": (
        "Cuộc họp đang do máy chủ khác điều hành: gửi lại tới {node_url}.",
        "Another node runs this meeting: send it to {node_url}.",
    ),
    "node_draining": (
        "Máy chủ này đang dừng để bảo trì: gửi lại sau giây lát, máy chủ khác sẽ nhận.",
        "This node is shutting down: send it again in a moment and another node will take it.",
    ),
    "too_slow": ("Kết nối quá chậm, đang đồng bộ lại.", "The connection fell behind; resynchronising."),
    # the media plane (signaling/media)
    "media_bad_offer": ("Trình duyệt gửi đề nghị kết nối không hợp lệ: {detail}", "Invalid connection offer: {detail}"),
    "media_bad_candidate": ("Ứng viên kết nối (ICE) không hợp lệ.", "Invalid ICE candidate."),
    "media_not_joined": (
        "Chưa kết nối âm thanh: hãy gửi đề nghị (offer) trước.",
        "No audio connection yet: send an offer first.",
    ),
    # roles
    "chair_only": ("Chỉ người chủ trì được {action}.", "Only the chair may {action}."),
    "clerk_only": ("Chỉ thư ký được {action}.", "Only the clerk may {action}."),
    "not_in_roster": ("Người này không có trong danh sách cuộc họp.", "This person is not on the meeting roster."),
    "self_only": ("Bạn chỉ có thể làm việc này cho chính mình.", "You may only do this for yourself."),
    # meeting lifecycle
    "journal_not_opened": ("Cuộc họp chưa được mở.", "The meeting has not been opened yet."),
    "journal_already_opened": ("Cuộc họp đã được mở.", "The meeting is already open."),
    "meeting_not_started": ("Cuộc họp chưa bắt đầu.", "The meeting has not started."),
    "meeting_already_started": ("Cuộc họp đã bắt đầu.", "The meeting has already started."),
    "meeting_ended": ("Cuộc họp đã kết thúc.", "The meeting has ended."),
    # agenda
    "unknown_item": ("Không có mục chương trình này.", "No such agenda item."),
    "item_not_open": ("Mục chương trình này không đang mở.", "This agenda item is not open."),
    "item_already_open": ("Mục chương trình này đang mở.", "This agenda item is already open."),
    "item_not_pending": ("Chỉ bỏ qua được mục chưa bắt đầu.", "Only an item not yet taken up can be skipped."),
    "bad_order": (
        "Thứ tự mới phải gồm đúng các mục hiện có.",
        "The new order must list exactly the existing items.",
    ),
    "no_open_item": ("Chưa có mục chương trình nào đang mở.", "No agenda item is open."),
    # speakers
    "not_present": ("Người này chưa điểm danh có mặt.", "This person is not checked in as present."),
    "hand_already_raised": ("Bạn đã giơ tay rồi.", "Your hand is already raised."),
    "hand_not_raised": ("Không có yêu cầu phát biểu nào để hạ.", "There is no raised hand to lower."),
    "no_floor": ("Hiện không ai đang phát biểu.", "Nobody has the floor."),
    "not_floor_holder": ("Bạn không đang phát biểu.", "You do not have the floor."),
    "time_not_up": ("Chưa hết thời gian phát biểu.", "The speaking time is not up yet."),
    "queue_empty": ("Không còn ai chờ phát biểu.", "Nobody is waiting to speak."),
    # microphones
    "media_mute_chair_only": (
        "Chỉ người chủ trì được tắt hoặc bật micrô của người khác.",
        "Only the chair may mute or unmute someone.",
    ),
    "microphone_already_muted": ("Micrô này đã bị tắt rồi.", "This microphone is already muted."),
    "microphone_not_muted": ("Micrô này không bị tắt.", "This microphone is not muted."),
    # attendance
    "already_present": ("Người này đã có mặt.", "This person is already present."),
    "not_checked_in": ("Người này chưa có mặt nên không thể rời.", "This person is not present, so cannot leave."),
    "present_cannot_be_absent": (
        "Người đang có mặt không thể ghi vắng.",
        "Someone who is present cannot be marked absent.",
    ),
    "attended_cannot_be_absent": (
        "Đồng chí này đã dự họp rồi ra về: biên bản ghi là có mặt và về sớm, không ghi vắng.",
        "This member attended and then left: the minutes show them present and leaving early, not absent.",
    ),
    # votes
    "vote_already_open": ("Đang có một cuộc biểu quyết chưa kết thúc.", "Another vote is still open."),
    "vote_exists": ("Mã biểu quyết này đã được dùng.", "This vote id is already used."),
    "unknown_vote": ("Không có cuộc biểu quyết này.", "No such vote."),
    "vote_not_open": ("Biểu quyết này không còn mở.", "This vote is not open."),
    "vote_open_blocks": ("Hãy kết thúc biểu quyết trước.", "Close the open vote first."),
    "may_not_vote": (
        "Chỉ đảng viên chính thức có mặt mới được biểu quyết.",
        "Only official members who are present may vote.",
    ),
    "already_voted": ("Bạn đã biểu quyết rồi.", "You have already voted."),
    "in_room_votes_by_hand": (
        "Đồng chí đang dự tại hội trường: biểu quyết bằng giơ tay.",
        "You are checked in in the room: vote by show of hands.",
    ),
    "counted_by_hand": (
        "Đồng chí đã được tính trong số giơ tay tại hội trường, không biểu quyết trực tuyến được nữa.",
        "You were counted in the show of hands in the room, so you cannot also vote online.",
    ),
    "hall_count_too_high": (
        "Số giơ tay ({counted}) vượt quá số người được biểu quyết tại hội trường ({allowed}).",
        "The show of hands ({counted}) exceeds the voters in the room ({allowed}).",
    ),
    # minutes
    "entry_exists": ("Mã mục biên bản này đã được dùng.", "This minute entry id is already used."),
    "unknown_entry": ("Không có mục biên bản này.", "No such minute entry."),
    "entry_unchanged": ("Nội dung không thay đổi.", "The text is unchanged."),
    "entry_already_first": (
        "Mục này đã đứng đầu phần biên bản của nội dung họp.",
        "This entry already stands first in its agenda item's minutes.",
    ),
    "entry_already_last": (
        "Mục này đã đứng cuối phần biên bản của nội dung họp.",
        "This entry already stands last in its agenda item's minutes.",
    ),
    # browser apps (issue 5)
    "checkin_code_invalid": (
        "Mã điểm danh không đúng hoặc đã hết hạn. Xin quét lại mã trên màn hình của thư ký.",
        "The check-in code is wrong or has expired. Please scan the code on the clerk's screen again.",
    ),
    # preparation, documents, reports, commune (issue 7)
    "plan_locked": (
        "Cuộc họp đã mở, không còn sửa kế hoạch được; chủ trì điều chỉnh chương trình bằng các lệnh trong cuộc họp.",
        "The meeting has opened: its plan can no longer be changed; the chair adjusts the agenda with live commands.",
    ),
    "designated_not_member": (
        "Người được phân công phải là đảng viên đang sinh hoạt tại chi bộ.",
        "Only active members of the branch can be assigned.",
    ),
    "designated_duplicate": ("Một đồng chí bị phân công hai lần.", "A member is assigned twice."),
    "document_empty": ("Tệp rỗng.", "The file is empty."),
    "document_too_large": (
        "Tệp quá lớn: tối đa {limit_mb} MB.",
        "The file is too large: {limit_mb} MB at most.",
    ),
    "document_type_refused": (
        "Chỉ nhận tệp PDF, DOCX, PPTX, ODT, ODP, PNG hoặc JPEG.",
        "Only PDF, DOCX, PPTX, ODT, ODP, PNG or JPEG files are accepted.",
    ),
    "document_type_mismatch": (
        "Nội dung tệp là {detected} nhưng tên tệp có đuôi .{extension}.",
        "The file's content is {detected} but its name ends in .{extension}.",
    ),
    "document_distributed": (
        "Tài liệu đã phát hành cho đảng viên, không xoá được.",
        "The document has been distributed to members and cannot be deleted.",
    ),
    "absence_too_late": (
        "Cuộc họp đã bắt đầu, không gửi báo vắng được nữa.",
        "The meeting has started: an absence notice can no longer be sent.",
    ),
    "absence_withdraw_too_late": (
        'Cuộc họp đã bắt đầu, không rút lại báo vắng được nữa. Nếu đồng chí đến dự, xin bấm "Tham gia" '
        "hoặc báo thư ký điểm danh.",
        'The meeting has started: the absence notice can no longer be withdrawn. If you attend, press "Join" '
        "or ask the clerk to check you in.",
    ),
    "absence_reason_required": ("Xin ghi rõ lý do vắng mặt.", "Please give the reason for the absence."),
    "report_not_ready": (
        "Cuộc họp chưa kết thúc nên chưa lập báo cáo được.",
        "The meeting has not ended, so its report cannot be made yet.",
    ),
    "minutes_not_shared": (
        "Chi bộ chưa chia sẻ biên bản cuộc họp này với cấp trên.",
        "The branch has not shared the minutes of this meeting.",
    ),
    "commune_admin_only": (
        "Chỉ cán bộ Đảng ủy xã phụ trách mới xem được.",
        "Only the commune committee's administrators may see this.",
    ),
    # preparation warnings (shown, never refused)
    "warn_too_few_designated": (
        "Sinh hoạt chuyên đề cần ít nhất {minimum} đồng chí chuẩn bị ý kiến; mới phân công {count}.",
        "A thematic meeting needs at least {minimum} members with prepared opinions; {count} assigned.",
    ),
    "warn_no_presenter": (
        "Chưa phân công đồng chí trình bày chuyên đề.",
        "Nobody has been assigned to present the topic.",
    ),
    "warn_draft_not_distributed": (
        "Chưa phát hành dự thảo báo cáo; phải đến đảng viên chậm nhất ngày {deadline} ({days} ngày làm việc trước).",
        "The draft report has not been distributed; it must reach members by {deadline} ({days} working days before).",
    ),
    "warn_draft_late": (
        "Dự thảo báo cáo phát hành ngày {distributed}, muộn hơn hạn {deadline} ({days} ngày làm việc trước).",
        "The draft report went out on {distributed}, after the deadline {deadline} ({days} working days before).",
    ),
    "warn_designated_absent": (
        "Đồng chí {name} được phân công phát biểu nhưng đã báo vắng.",
        "{name} is assigned to speak but has sent an absence notice.",
    ),
    "warn_no_chair": ("Chưa phân công người chủ trì.", "No chair has been assigned."),
    "warn_no_clerk": ("Chưa phân công thư ký.", "No clerk has been assigned."),
    # the official record (issue 6)
    "record_sealed": (
        "Biên bản đã được ký và niêm phong, không sửa được nữa; việc đính chính lập thành biên bản bổ sung.",
        "The record is signed and sealed and can no longer be changed; corrections are made as an addendum.",
    ),
    "record_not_sealed": ("Biên bản chưa được ký và niêm phong.", "The record has not been signed and sealed yet."),
    "record_seal_failed": (
        "Chưa niêm phong được biên bản: không ký số được ({detail}). Chữ ký của các đồng chí đã được lưu; kiểm tra "
        "thiết bị ký số (USB token) rồi ký lại để niêm phong.",
        "The record could not be sealed: the digital signature failed ({detail}). Your signatures are kept; check "
        "the signing token, then sign again to seal.",
    ),
    "record_meeting_not_ended": (
        "Cuộc họp chưa kết thúc nên chưa ký biên bản được.",
        "The meeting has not ended, so the record cannot be signed yet.",
    ),
    "minutes_not_adopted": (
        "Biên bản chưa được chi bộ biểu quyết thông qua (mục «Thông qua biên bản»).",
        "The branch has not voted to adopt the minutes (the «adopt the minutes» item).",
    ),
    "record_changed": (
        "Nội dung biên bản đã thay đổi so với bản đồng chí đã xem; xin xem lại trước khi ký.",
        "The minutes have changed since you read them; please read them again before signing.",
    ),
    "record_signers_only": (
        "Chỉ chủ trì và thư ký cuộc họp mới ký biên bản.",
        "Only the meeting's chair and clerk sign the record.",
    ),
    "signature_password_wrong": (
        "Mật khẩu không đúng, chữ ký chưa được ghi nhận.",
        "Wrong password: the signature was not recorded.",
    ),
    "addendum_pending": (
        "Biên bản bổ sung trước chưa ký xong; ký xong bản đó rồi mới lập bản mới.",
        "The previous addendum is not signed yet; finish it before writing another.",
    ),
    "action_incomplete": (
        "Nhiệm vụ chưa đủ «5 rõ», còn thiếu: {missing}.",
        'The action item is not "5 clear" yet; missing: {fields}.',
    ),
    "file_missing": (
        "Xin chọn tệp biên bản (DOCX hoặc PDF) để kiểm tra.",
        "Choose a record file (DOCX or PDF) to check.",
    ),
    # an invite link after its meeting (issue 12)
    "record_token_only": (
        "Cuộc họp đã kết thúc: đường link mời nay chỉ dùng để đọc và tải biên bản của cuộc họp đó.",
        "The meeting has ended: the invite link now only reads and downloads that meeting's record.",
    ),
    # accounts and sessions (issue 13, meeting/api/access.py)
    "token_revoked": (
        "Phiên đăng nhập này đã kết thúc (đã đăng xuất, đổi mật khẩu, đổi vai trò hoặc bị ngừng). Xin đăng nhập lại.",
        "This session has ended (signed out, password or role changed, or deactivated). Please sign in again.",
    ),
    "too_many_password_attempts": (
        "Nhập sai mật khẩu quá nhiều lần. Xin thử lại sau {minutes} phút.",
        "Too many wrong passwords. Try again in {minutes} min.",
    ),
    "current_password_wrong": ("Mật khẩu hiện tại không đúng.", "The current password is wrong."),
    "password_owner_only": (
        "Chỉ chủ tài khoản mới đổi được mật khẩu của tài khoản đó.",
        "Only the account's owner may change its password.",
    ),
    "password_reset_not_allowed": (
        "Bí thư, phó bí thư chỉ đặt lại mật khẩu cho đảng viên (không phải bí thư, phó bí thư) của chi bộ mình.",
        "A secretary or deputy resets passwords only of their branch's members who are not secretary or deputy.",
    ),
    "first_login_only": (
        "Quản trị xã chỉ tạo tài khoản đầu tiên (bí thư hoặc phó bí thư) của một chi bộ chưa có tài khoản nào.",
        "The commune admin creates only a branch's first login (its secretary or deputy), while it has none.",
    ),
    "command_id_reused": (
        "Mã lệnh này đã được dùng cho một lệnh khác: lệnh mới cần một mã mới.",
        "This command id was already used for a different command: a new command needs a new id.",
    ),
    "in_person_needs_room": (
        "Chỉ thư ký (tại cửa phòng họp) hoặc mã QR trong phòng họp mới ghi nhận có mặt trực tiếp; "
        "tự điểm danh từ xa được ghi là tham gia trực tuyến.",
        "Only the clerk at the door or the room's QR code records someone as present in the room; "
        "checking yourself in from elsewhere records you online.",
    ),
    "lease_pending": (
        "Máy chủ vừa khởi động lại và đang nhận lại cuộc họp: gửi lại sau {retry_after} giây.",
        "This node has just restarted and is taking the meeting back: send it again in {retry_after} s.",
    ),
}


# The words code passes into a message ({what}, {action}) are English names, put in the words of the message's
# language here: a Vietnamese message never shows an English word ("Không tìm thấy cuộc họp.", not "... meeting.").
# A name missing from its table is shown as the table's neutral word, never raw; tests/api/test_error_words.py
# checks that every name the code passes is in its table.
WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "what": {
        "absence notice": ("báo vắng", "Absence notice"),
        "action": ("nhiệm vụ", "Action item"),
        "action item": ("nhiệm vụ", "Action item"),
        "addendum": ("biên bản bổ sung", "Addendum"),
        "branch": ("chi bộ", "Branch"),
        "document": ("tài liệu", "Document"),
        "file": ("tệp", "File"),
        "format": ("định dạng tệp", "File format"),
        "meeting": ("cuộc họp", "Meeting"),
        "member": ("đảng viên", "Member"),
        "number": ("số biên bản bổ sung", "Addendum number"),
        "page": ("trang", "Page"),
        "report": ("báo cáo", "Report"),
        "report format": ("định dạng báo cáo", "Report format"),
        "resolution": ("nghị quyết", "Resolution"),
        "template": ("mẫu cuộc họp", "Meeting template"),
        "": ("nội dung này", "This item"),  # any name not listed above
    },
    "action": {
        "start the meeting": ("bắt đầu cuộc họp", "start the meeting"),
        "end the meeting": ("kết thúc cuộc họp", "end the meeting"),
        "open an agenda item": ("mở mục chương trình", "open an agenda item"),
        "close an agenda item": ("kết thúc mục chương trình", "close an agenda item"),
        "skip an agenda item": ("bỏ qua mục chương trình", "skip an agenda item"),
        "reorder the agenda": ("sắp xếp lại chương trình", "reorder the agenda"),
        "conclude an agenda item": ("kết luận mục chương trình", "conclude an agenda item"),
        "give the floor": ("mời phát biểu", "give the floor"),
        "take back the floor": ("dừng phần phát biểu", "take back the floor"),
        "record an absence": ("ghi vắng mặt", "record an absence"),
        "open a vote": ("mở biểu quyết", "open a vote"),
        "record the show of hands": ("ghi số giơ tay", "record the show of hands"),
        "close a vote": ("kết thúc biểu quyết", "close a vote"),
        "write the minutes": ("ghi biên bản", "write the minutes"),
        "revise the minutes": ("sửa biên bản", "revise the minutes"),
        "move entries in the minutes": ("chuyển vị trí mục ghi trong biên bản", "move entries in the minutes"),
        "show the check-in code": ("hiện mã điểm danh", "show the check-in code"),
        "open the meeting": ("mở cuộc họp", "open the meeting"),
        "": ("làm việc này", "do this"),  # any action not listed above
    },
}


def _word(kind: str, name: Any, lang: str) -> str:
    table = WORDS[kind]
    vi, en = table.get(str(name), table[""])
    return en if lang == "en" else vi


def message(code: str, lang: str = "vi", **params: Any) -> str:
    vi, en = MESSAGES.get(code, MESSAGES["internal"])
    template = en if lang == "en" else vi
    params = {k: _word(k, v, lang) if k in WORDS else v for k, v in params.items()}
    # A number as people write it: "25 MB" (not "25.0"), and Vietnamese with a decimal comma: "0,05 MB".
    params = {k: _decimal(v, lang) if isinstance(v, float) else v for k, v in params.items()}
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def _decimal(value: float, lang: str) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if lang == "en" else text.replace(".", ",")


class Rejected(Exception):
    """A command or request refused for a reason the user can understand and act on."""

    status = 409

    def __init__(self, code: str, status: int | None = None, **params: Any) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.params = params
        if status is not None:
            self.status = status
        super().__init__(message(code, "en", **params))

    def to_json(self) -> dict[str, Any]:
        """The one error shape every API route and hub frame uses."""
        return {
            "error": {
                "code": self.code,
                "message": message(self.code, "vi", **self.params),
                "message_en": message(self.code, "en", **self.params),
                "details": {k: v for k, v in self.params.items() if isinstance(v, str | int | float | bool)},
            }
        }
