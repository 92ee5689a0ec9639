"""A realistic access review built by hand, for the renderers' tests (and any other test
that wants one): three groups, one of them empty, rows with every flag, a nested grant, a
dated entry, a drift row Git knows nothing of, approvers from trailers, from an apply
record and unknown, and the privileged accounts."""

from __future__ import annotations

from reconciler.review.model import (
    EXPIRING,
    EXTERNAL,
    NOT_IN_GIT,
    NOT_IN_GOOGLE,
    OWNER_NOT_MEMBER,
    ROLE_DIFFERS,
    SUSPENDED,
    Change,
    Grant,
    GroupReview,
    Review,
    Row,
)

# Commits of the directory's history (full hashes: the renderers shorten them).
ADD_ENG = "3f1c9a2b7d4e5f60718293a4b5c6d7e8f9012345"
ADD_ONCALL = "a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0"
DIRECT_PUSH = "0123456789abcdef0123456789abcdef01234567"

BY_TRAILERS = Change(
    commit=ADD_ENG,
    date="2025-03-04T10:15:00+00:00",
    author="Ann Lead <ann@example.com>",
    subject="Add Bea and Carl to eng (#12)",
    pull_request=12,
    approvers=["ann@example.com", "dan@example.com"],
    approval="trailers",
)
BY_APPLY = Change(
    commit=ADD_ONCALL,
    date="2025-06-20T08:00:00+00:00",
    author="Dan Ops <dan@example.com>",
    subject="Merge pull request #31 from example/oncall",
    pull_request=31,
    approvers=["deploy-bot@example.iam.gserviceaccount.com"],
    approval="apply actor",
)
UNAPPROVED = Change(
    commit=DIRECT_PUSH,
    date="2024-11-02T17:45:00+00:00",
    author="Eve Admin <eve@example.com>",
    subject="quick fix",
    pull_request=None,
    exact=False,  # the shallow clone's oldest commit
)


def sample_review(
    *, member: str = "bea@example.com", extra_rows: int = 0, google: str = "read"
) -> Review:
    """The sample; `member` names the first row's member (a test puts an awkward value
    there), `extra_rows` adds that many plain members to eng (a review long enough for
    several printed pages)."""
    eng = [
        Row(
            group="eng@example.com",
            member=member,
            role="MEMBER",
            type="USER",
            via=[Grant("eng", "MEMBER", "bea@example.com", "groups/eng.yaml:8")],
            since=BY_TRAILERS,
            applied="2025-03-04T10:31:12+00:00",
            applied_by="deploy-bot@example.iam.gserviceaccount.com",
            google="agrees",
        ),
        Row(
            group="eng@example.com",
            member="carl@partner.example.net",
            role="MEMBER",
            type="EXTERNAL",
            via=[Grant("eng", "MEMBER", "carl@partner.example.net", "groups/eng.yaml:9")],
            since=BY_TRAILERS,
            until="2026-12-31",
            applied="2025-03-04T10:31:12+00:00",
            applied_by="deploy-bot@example.iam.gserviceaccount.com",
            google="agrees",
            flags=[EXTERNAL, EXPIRING],
        ),
        Row(
            group="eng@example.com",
            member="fay@example.com",
            role="MEMBER",
            type="USER",
            via=[
                Grant("eng", "MEMBER", "platform-oncall", "groups/eng.yaml:12"),
                Grant("platform-oncall", "MEMBER", "fay@example.com", "groups/oncall.yaml:5"),
            ],
            since=BY_APPLY,
            applied="2025-06-20T08:05:40+00:00",
            applied_by="dan@example.com",
            google="agrees",
        ),
        Row(
            group="eng@example.com",
            member="gus@example.com",
            role="OWNER",
            type="USER",
            via=[Grant("eng", "OWNER", "gus@example.com", "groups/eng.yaml:4")],
            since=UNAPPROVED,
            google="role MANAGER",
            flags=[OWNER_NOT_MEMBER, ROLE_DIFFERS],
            why_unknown=["no apply record of this change"],
        ),
        Row(
            group="eng@example.com",
            member="hal@example.com",
            role="MEMBER",
            type="USER",
            since=None,
            google="extra",
            flags=[NOT_IN_GIT, SUSPENDED],
            why_unknown=["Git does not grant it: added in Google directly"],
        ),
        Row(
            group="eng@example.com",
            member="ivy@example.com",
            role="MEMBER",
            type="USER",
            via=[Grant("eng", "MEMBER", "ivy@example.com", "groups/eng.yaml:10")],
            since=BY_TRAILERS,
            google="missing",
            flags=[NOT_IN_GOOGLE],
        ),
    ]
    eng += [
        Row(
            group="eng@example.com",
            member=f"user{n:03d}@example.com",
            role="MEMBER",
            type="USER",
            via=[Grant("eng", "MEMBER", f"user{n:03d}@example.com", f"groups/eng.yaml:{20 + n}")],
            since=BY_TRAILERS,
            applied="2025-03-04T10:31:12+00:00",
            applied_by="deploy-bot@example.iam.gserviceaccount.com",
            google="agrees",
        )
        for n in range(extra_rows)
    ]
    oncall = [
        Row(
            group="platform-oncall@example.com",
            member="fay@example.com",
            role="MEMBER",
            type="USER",
            via=[Grant("platform-oncall", "MEMBER", "fay@example.com", "groups/oncall.yaml:5")],
            since=BY_APPLY,
            applied="2025-06-20T08:05:40+00:00",
            applied_by="dan@example.com",
            google="agrees",
        ),
    ]
    privileged = [
        Row(
            group="(privileged)",
            member="root@example.com",
            role="super admin",
            type="USER",
            google="agrees",
            why_unknown=["privileged roles are not kept in Git"],
        ),
        Row(
            group="(privileged)",
            member="helpdesk@example.com",
            role="delegated admin",
            type="USER",
            google="agrees",
            flags=[SUSPENDED],
        ),
    ]
    return Review(
        as_of="2026-05-01",
        generated="2026-05-01T09:00:00+00:00",
        directory="directory",
        git_commit="feedfacecafebeef00112233445566778899aabb",
        google=google,
        shallow=True,
        groups=[
            GroupReview(
                email="eng@example.com",
                name="Engineering",
                git_name="eng",
                source="groups/eng.yaml:2",
                membership="authoritative",
                rows=eng,
            ),
            GroupReview(
                email="platform-oncall@example.com",
                name="Platform on-call",
                git_name="platform-oncall",
                source="groups/oncall.yaml:2",
                membership="additive",
                rows=oncall,
            ),
            GroupReview(
                email="empty@example.com",
                name="Nobody yet",
                git_name="empty",
                source="groups/empty.yaml:2",
                membership="authoritative",
            ),
        ],
        privileged=privileged if google == "read" else None,
        notes=["The history is a shallow clone's: grants older than 2024-11-02 are dated by it."],
    )
