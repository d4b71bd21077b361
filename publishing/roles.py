"""Editorial roles: the Editors and Reviewers groups and the permissions each holds.

One definition, used by the data migrations that create and re-sync the groups and by the tests
that check them. A change here needs a new migration calling `sync_groups` again. Editors brief tasks and edit drafts; Reviewers can do all that and also see every task,
approve, reject and publish, and set users' monthly cost budgets.
"""

EDITORS = "Editors"
REVIEWERS = "Reviewers"

# (app_label, codename) pairs.
EDITOR_PERMISSIONS = [
    ("tasks", "add_generationtask"),
    ("tasks", "change_generationtask"),
    ("tasks", "view_generationtask"),
    ("tasks", "view_taskevent"),
    ("tasks", "view_stagecheckpoint"),
    ("tasks", "view_modelcatalogentry"),
    ("content", "add_contentversion"),
    ("content", "view_contentversion"),
    ("content", "view_approvalevent"),
    ("publishing", "add_post"),
    ("publishing", "change_post"),
    ("publishing", "view_post"),
    ("publishing", "view_postchange"),
    ("publishing", "view_category"),
    ("publishing", "view_tag"),
    ("publishing", "add_tag"),
    ("publishing", "view_slugredirect"),
]

REVIEWER_PERMISSIONS = EDITOR_PERMISSIONS + [
    ("tasks", "view_all_tasks"),
    ("tasks", "delete_generationtask"),
    ("tasks", "view_costbudget"),
    ("tasks", "add_costbudget"),
    ("tasks", "change_costbudget"),
    ("tasks", "view_costbudgetchange"),
    ("content", "review_content"),
    ("publishing", "publish_post"),
    ("publishing", "delete_post"),
    ("publishing", "add_category"),
    ("publishing", "change_category"),
    ("publishing", "change_tag"),
    ("publishing", "delete_slugredirect"),
]

GROUP_PERMISSIONS = {EDITORS: EDITOR_PERMISSIONS, REVIEWERS: REVIEWER_PERMISSIONS}
