#!/usr/bin/env python3
"""Regenerates fuzz/seeds/<target>/ from the project's own examples: the
provider webhook fixtures, the raw string literals of the unit tests
(pipeline files, configs, JUnit reports, callback and chat bodies) and
config/slipway.toml. Run from anywhere: `python3 fuzz/seeds/make-seeds.py`.

Request seeds (webhook, chat) use the input format of
fuzz/src/lib.rs: selector byte, flags byte, "name: value" header lines,
an empty line, the body.
"""

import hashlib
import pathlib
import re
import shutil
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = ROOT / "fuzz" / "seeds"
CORE = ROOT / "functions" / "slipway-core"
SRC = CORE / "src"
FIXTURES = CORE / "tests" / "fixtures" / "providers"

RAW = re.compile(r'b?r(#+)"(.*?)"\1', re.S)


def raw_literals(path):
    """The raw string literals of a Rust file, `{{`/`}}` of format!
    strings undone."""
    text = path.read_text()
    out = []
    for m in RAW.finditer(text):
        s = m.group(2)
        if "{{" in s:
            s = s.replace("{{", "{").replace("}}", "}")
        out.append(s)
    return out


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    (d / name).write_bytes(data)


def request(selector, flags, headers, body):
    if isinstance(body, str):
        body = body.encode()
    head = "".join(f"{k}: {v}\n" for k, v in headers)
    return bytes([selector, flags]) + head.encode() + b"\n" + body


# Provider::ALL order.
PROVIDERS = ["github", "gitlab", "gitee", "codeup", "bitbucket", "gitea"]

GITLAB_EVENTS = {
    "push": "Push Hook",
    "tag_push": "Tag Push Hook",
    "merge_request": "Merge Request Hook",
    "pipeline": "Pipeline Hook",
    "note_merge_request": "Note Hook",
}
GITEE_EVENTS = {
    "push": "Push Hook",
    "merge_request": "Merge Request Hook",
    "note_pull_request": "Note Hook",
}
BITBUCKET_EVENTS = {
    "push": "repo:push",
    "pullrequest_created": "pullrequest:created",
    "pullrequest_comment_created": "pullrequest:comment_created",
}
GITHUB_EVENTS = {
    "check_run_completed": "check_run",
    "create": "create",
    "issue_comment_created": "issue_comment",
    "ping": "ping",
    "pull_request_closed": "pull_request",
    "pull_request_opened": "pull_request",
    "pull_request_synchronize": "pull_request",
    "push_new_branch": "push",
    "push_tag_deleted": "push",
    "workflow_run_completed": "workflow_run",
}


def webhook_seeds():
    for provider in PROVIDERS:
        sel = PROVIDERS.index(provider)
        for f in sorted((FIXTURES / provider).glob("*.json")):
            body = f.read_bytes()
            stem = f.stem
            json_ct = ("content-type", "application/json")
            if provider == "github":
                headers = [("x-github-event", GITHUB_EVENTS[stem]), json_ct,
                           ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")]
            elif provider in ("gitlab", "codeup"):
                name = "x-gitlab-event" if provider == "gitlab" else "x-codeup-event"
                headers = [(name, GITLAB_EVENTS[stem]), json_ct]
            elif provider == "gitee":
                headers = [("x-gitee-event", GITEE_EVENTS[stem]), json_ct]
            elif provider == "bitbucket":
                headers = [("x-event-key", BITBUCKET_EVENTS[stem]), json_ct,
                           ("x-request-uuid", "afe6a5b4-1f6b-4a4b-9c0b-6c5c2c7f7d3a")]
            else:
                if stem == "forgejo_push":
                    headers = [("x-forgejo-event", "push"), json_ct]
                elif stem == "issue_comment_pull":
                    headers = [("x-gitea-event", "issue_comment"),
                               ("x-gitea-event-type", "pull_request_comment"), json_ct]
                else:
                    headers = [("x-gitea-event", "push"), json_ct,
                               ("x-gitea-delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473")]
            # Signed (flag 1); GitLab and Gitee also with their second
            # scheme (flags 3).
            write("webhook", request(sel, 1, headers, body))
            if provider in ("gitlab", "gitee"):
                write("webhook", request(sel, 3, headers, body))
        # A form-encoded delivery for the providers that accept one.
        if provider in ("github", "gitea"):
            push = next((FIXTURES / provider).glob("push*.json")).read_text()
            form = "payload=" + urllib.parse.quote_plus(push)
            event = "x-github-event" if provider == "github" else "x-gitea-event"
            write("webhook", request(sel, 1, [
                (event, "push"),
                ("content-type", "application/x-www-form-urlencoded")], form))
    # Unsigned garbage-ish requests.
    write("webhook", request(0, 0, [("x-github-event", "push"),
                                    ("x-hub-signature-256", "sha256=00")], "{}"))
    write("webhook", request(1, 0, [("x-gitlab-token", "nope"),
                                    ("webhook-signature", "v1,AAAA")], '{"object_kind":"push"}'))


def file_seeds(target, files, keep):
    for path in files:
        for lit in raw_literals(path):
            if keep(lit):
                write(target, lit)


def main():
    if SEEDS.exists():
        for d in SEEDS.iterdir():
            if d.is_dir():
                shutil.rmtree(d)
    webhook_seeds()

    file_seeds("pipeline",
               [SRC / "pipeline" / "tests.rs", SRC / "pipeline" / "withhold.rs",
                SRC / "entry" / "webhook_tests.rs"],
               lambda s: "[stages." in s or "[triggers]" in s)
    for s in ["", "[stages.a]\nkind = \"build\"\nservice = \"s\"\njob = \"j\"\nneeds = [\"a\"]\n",
              "[stages.d]\nkind = \"deploy\"\nenvironment = \"prod\"\nstrategy = \"canary\"\nsteps = [0, 255]\nhold = \"99999999999h\"\n"]:
        write("pipeline", s)

    file_seeds("config",
               [SRC / "config.rs", SRC / "least_privilege.rs", SRC / "engine" / "sim" / "mod.rs",
                SRC / "entry" / "webhook_tests.rs"],
               lambda s: "public_url" in s or "[apps." in s or "[providers." in s)
    write("config", (ROOT / "config" / "slipway.toml").read_bytes())

    file_seeds("junit", [SRC / "builders" / "tests" / "junit_tests.rs", SRC / "entry" / "result.rs"],
               lambda s: "<test" in s)

    pick = {"application/json": 0, "application/xml": 1}
    for lit in raw_literals(SRC / "entry" / "result.rs"):
        lit = lit.replace("{DIGEST}", "sha256:" + "ab" * 32)
        if lit.lstrip().startswith("{"):
            write("callback", bytes([pick["application/json"]]) + lit.encode())
        elif "<test" in lit:
            write("callback", bytes([pick["application/xml"]]) + lit.encode())
    write("callback", b"\x00" + b'{"status":"succeeded","junit":["<testsuite><testcase name=\\"a\\"/></testsuite>"]}')
    write("callback", b"\x00" + b'{"status":"running","tests":{"passed":1,"failed":0,"errored":0,"skipped":0,"failures":[]}}')

    # Chat: PLATFORMS order is slack, mattermost, dingtalk, feishu.
    slack = [l for l in (SRC / "chat" / "slack.rs").read_text().splitlines() if "const BODY" in l]
    slack_body = slack[0].split('"', 1)[1].rsplit('"', 1)[0] if slack else "team_id=T1&user_id=U1&text=status+shop"
    write("chat", request(0, 1, [("content-type", "application/x-www-form-urlencoded")], slack_body))
    click = ('{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},'
             '"actions":[{"value":"deploy shop production shop-12"}],'
             '"response_url":"https://hooks.slack.com/actions/T1/1/x"}')
    write("chat", request(0, 1, [], "payload=" + urllib.parse.quote_plus(click)))
    write("chat", request(1, 1, [], "channel_id=c1&team_id=t1&user_id=u1&text=status+shop"
                                   "&response_url=https%3A%2F%2Fmm.example.com%2Fhooks%2Fcommands%2Fabc&token=tok"))
    ding = ('{"msgtype":"text","text":{"content":" status shop"},"msgId":"m1","senderStaffId":"s1",'
            '"senderCorpId":"c1","sessionWebhook":"https://oapi.dingtalk.com/robot/sendBySession?session=x",'
            '"sessionWebhookExpiredTime":1700000900000}')
    write("chat", request(2, 1, [], ding))
    feishu = ('{"schema":"2.0","header":{"event_id":"e1","event_type":"im.message.receive_v1",'
              '"token":"fuzz-secret","tenant_key":"tk"},"event":{"sender":{"sender_id":{"open_id":"ou_1"}},'
              '"message":{"message_id":"om_1","message_type":"text",'
              '"content":"{\\"text\\":\\"@_user_1 status shop\\"}"}}}')
    write("chat", request(3, 1, [], feishu))       # signed, plain
    write("chat", request(3, 1 | 8, [], feishu))   # signed, encrypted
    write("chat", request(3, 4, [], feishu))       # token only
    challenge = '{"challenge":"c-1","token":"fuzz-secret","type":"url_verification"}'
    write("chat", request(3, 4, [], challenge))
    write("chat", request(3, 1 | 8, [], challenge))


if __name__ == "__main__":
    main()
