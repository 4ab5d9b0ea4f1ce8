//! Chat commands end to end: signed requests of every platform through the
//! real `chatops` component, approvals that move a pipeline to a fake
//! Kubernetes, and answers that come after the response.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slipway_tests::chat_env::*;
use slipway_tests::fakes::chat::ChatPlatform;
use slipway_tests::fakes::chat_replies::FakeChatReplies;
use slipway_tests::fakes::webhooks::hmac_sha256;
use slipway_tests::fakes::{base64, now_millis};
use slipway_tests::pipeline_env::sha;

#[test]
fn slack_requests_are_verified_and_help_lists_every_command() {
    let w = world();
    let (help, _) = slack(&w, "UNOBODY", "help");
    assert_eq!(help["response_type"], "ephemeral");
    for name in COMMANDS {
        assert!(
            text_of(&help).contains(&format!("\n{name}")),
            "{name} missing: {help}"
        );
    }
    let rows = w.env.kv_rows();
    let url = w.replies.slack_response_url();
    let now = now_millis() / 1000;
    let (status, body, _) = slack_at(
        &w.env,
        "UALICE",
        "lock shop-github staging",
        &url,
        now - 301,
    );
    assert_eq!(status, 401, "a replayed request: {body}");
    let tampered = form(&[
        ("team_id", "T1"),
        ("user_id", "UALICE"),
        ("text", "lock shop-github staging"),
    ]);
    let headers = [
        ("x-slack-request-timestamp", now.to_string()),
        ("x-slack-signature", format!("v0={}", "0".repeat(64))),
    ];
    let (status, body, _) = post(&w.env, "/chat/slack", &headers, &tampered);
    assert_eq!(status, 401, "a bad signature: {body}");
    let (status, body, _) = post(&w.env, "/chat/slack", &[], &tampered);
    assert_eq!(status, 401, "unsigned: {body}");
    assert_eq!(w.env.kv_rows(), rows, "refused requests write nothing");
    let (answer, _) = slack(&w, "UNOBODY", "lock shop-github staging");
    assert!(text_of(&answer).contains("does not know you"), "{answer}");
    assert!(text_of(&answer).contains("slack:T1:UNOBODY"), "{answer}");
    let (answer, _) = slack(&w, "UDAVE", "lock shop-github staging");
    assert!(
        text_of(&answer).contains("needs the deployer role"),
        "{answer}"
    );
    let (answer, _) = slack(&w, "UALICE", "deploy shop-github");
    assert!(
        text_of(&answer).starts_with("Usage: deploy app env"),
        "{answer}"
    );
}

#[test]
fn mattermost_dingtalk_and_feishu_verify_and_answer() {
    let w = world();
    let body = form(&[
        ("team_id", "team1"),
        ("user_id", "ubob"),
        ("text", "status shop-github"),
    ]);
    let (status, answer, _) = post(
        &w.env,
        "/chat/mattermost",
        &[("authorization", format!("Token {MM_TOKEN}"))],
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    assert!(text_of(&answer).starts_with("shop-github:"), "{answer}");
    let (status, _, _) = post(
        &w.env,
        "/chat/mattermost",
        &[("authorization", "Token nope".into())],
        &body,
    );
    assert_eq!(status, 401);

    let session = w.replies.dingtalk_session();
    let ms = now_millis();
    let sign = base64(&hmac_sha256(
        DINGTALK_SECRET.as_bytes(),
        format!("{ms}\n{DINGTALK_SECRET}").as_bytes(),
    ));
    let message = json!({
        "msgtype": "text", "text": { "content": " whoami" }, "msgId": "msg-1",
        "senderStaffId": "staffbob", "senderCorpId": "corp1", "senderId": "$:LWCP:x",
        "sessionWebhook": session, "sessionWebhookExpiredTime": ms + 600_000,
    })
    .to_string();
    let headers = [("timestamp", ms.to_string()), ("sign", sign.clone())];
    let (status, answer, _) = post(&w.env, "/chat/dingtalk", &headers, &message);
    assert_eq!(status, 200, "{answer}");
    let posted = w.replies.posts(&session);
    assert_eq!(posted.len(), 1, "the answer goes to the session webhook");
    assert_eq!(
        posted[0]["text"]["content"],
        "You are bob (dingtalk:corp1:staffbob)."
    );
    let (_, again, _) = post(&w.env, "/chat/dingtalk", &headers, &message);
    assert!(
        again["ignored"]
            .as_str()
            .unwrap_or("")
            .contains("delivered before"),
        "{again}"
    );
    let stale = [("timestamp", (ms - 3_700_000).to_string()), ("sign", sign)];
    assert_eq!(post(&w.env, "/chat/dingtalk", &stale, &message).0, 401);

    // Feishu with an Encrypt Key: every body encrypted, events signed.
    let challenge =
        json!({ "challenge": "abc", "token": FEISHU_TOKEN, "type": "url_verification" });
    let (status, answer, _) = post(&w.env, "/chat/feishu", &[], &feishu_sealed(&challenge));
    assert_eq!((status, answer), (200, json!({ "challenge": "abc" })));
    let forged = json!({ "challenge": "abc", "token": "nope", "type": "url_verification" });
    assert_eq!(
        post(&w.env, "/chat/feishu", &[], &feishu_sealed(&forged)).0,
        401
    );
    let event = json!({
        "schema": "2.0",
        "header": { "event_id": "ev-1", "event_type": "im.message.receive_v1", "token": FEISHU_TOKEN, "tenant_key": "tk1" },
        "event": {
            "sender": { "sender_id": { "open_id": "ou_bob" } },
            "message": { "message_id": "om_1", "message_type": "text", "content": "{\"text\":\"@_user_1 whoami\"}" }
        }
    });
    let body = feishu_sealed(&event);
    assert_eq!(post(&w.env, "/chat/feishu", &[], &body).0, 401, "unsigned");
    let (status, _, took) = post(&w.env, "/chat/feishu", &feishu_signed(&body), &body);
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(3));
    let posts = w.replies.wait_posts("om_1", 1, Duration::from_secs(10));
    assert_eq!(posts.len(), 1, "the answer is a reply through the IM API");
    let content = posts[0]["content"].as_str().unwrap();
    assert!(
        content.contains("You are bob (feishu:tk1:ou_bob)"),
        "{content}"
    );
    // A card button's click, as Feishu's card callback sends it.
    let click = json!({
        "schema": "2.0",
        "header": { "event_id": "ev-2", "event_type": "card.action.trigger", "token": FEISHU_TOKEN, "tenant_key": "tk1" },
        "event": {
            "operator": { "open_id": "ou_bob" },
            "action": { "tag": "button", "value": { "command": "whoami" } },
            "context": { "open_message_id": "om_card" }
        }
    });
    let body = feishu_sealed(&click);
    let (status, toast, _) = post(&w.env, "/chat/feishu", &feishu_signed(&body), &body);
    assert_eq!(status, 200);
    assert_eq!(
        toast["toast"]["content"],
        "You are bob (feishu:tk1:ou_bob)."
    );
    assert_eq!(
        w.replies
            .wait_posts("om_card", 1, Duration::from_secs(10))
            .len(),
        1
    );
}

#[test]
fn a_quorum_of_two_others_approves_and_production_deploys() {
    let w = world();
    let run = run_waiting_for_approval(&w, &sha(1));
    let approve = format!("approve {run} approve");
    let (answer, _) = slack(&w, "UALICE", &approve);
    assert!(
        text_of(&answer).contains("alice pushed"),
        "the pusher cannot approve: {answer}"
    );
    let (answer, _) = slack(&w, "UDAVE", &approve);
    assert!(text_of(&answer).contains("approver role"), "{answer}");
    // The app's Slack channel was asked, with buttons bound to attempt 1.
    let asked = w.chat.wait_for_messages(1, Duration::from_secs(10));
    let (platform, message) = asked.first().cloned().expect("an approval request");
    assert_eq!(platform, ChatPlatform::Slack);
    let text = message.to_string();
    assert!(
        text.contains(DIGEST) && text.contains("needs 2 approval(s) for production"),
        "{text}"
    );
    let buttons = message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("buttons")["elements"]
        .clone();
    assert_eq!(buttons[0]["value"], format!("approve {run} approve #1"));
    assert_eq!(buttons[1]["value"], format!("reject {run} approve #1"));
    let (answer, _) = slack_click(&w, "UBOB", buttons[0]["value"].as_str().unwrap());
    assert!(text_of(&answer).contains("1 of 2 approvals"), "{answer}");
    assert_eq!(answer["response_type"], "in_channel");
    let (answer, _) = slack(&w, "UBOB", &approve);
    assert!(text_of(&answer).contains("already answered"), "{answer}");
    let (answer, url) = slack(&w, "UCAROL", &approve);
    assert!(text_of(&answer).contains("the run goes on"), "{answer}");

    let record = w.env.run(&run);
    let gate = &record["stages"]["approve"]["approval"];
    let who: Vec<&str> = gate["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["by"].as_str().unwrap())
        .collect();
    assert_eq!(who, ["bob", "carol"]);
    assert_eq!(gate["decisions"][0]["via"], "slack");
    assert_eq!(gate["decisions"][0]["identity"], "slack:T1:UBOB");
    assert_eq!(gate["digest"], DIGEST);
    let deadline = Instant::now() + Duration::from_secs(20);
    while w.k8s.image(NS, APP).as_deref()
        != Some(&format!("registry.example.com/acme/shop@{DIGEST}")[..])
    {
        assert!(
            Instant::now() < deadline,
            "production never got the approved image"
        );
        w.env.tick();
        std::thread::sleep(Duration::from_millis(50));
    }
    // The run's end is reported on the approver's response_url by the
    // engine (after progress, when the answering instance lived on).
    let ended = wait_for_post(&w, &url, &format!("{run} main@"), "succeeded");
    assert!(ended.contains("by dev"), "{ended}");
}

#[test]
fn an_approval_after_a_newer_push_reached_the_stage_is_refused() {
    let w = world();
    let old = run_waiting_for_approval(&w, &sha(1));
    let new = run_waiting_for_approval(&w, &sha(2));
    let (answer, _) = slack(&w, "UBOB", &format!("approve {old} approve"));
    assert!(
        text_of(&answer).contains(&format!("superseded: {new}")),
        "{answer}"
    );
    let (answer, _) = slack(&w, "UBOB", &format!("reject {new} approve not today"));
    assert!(text_of(&answer).contains("the run stops"), "{answer}");
    let record = w.env.run(&new);
    assert_eq!(
        record["stages"]["approve"]["reason"],
        "rejected by bob: not today"
    );
    assert_eq!(record["status"], "failed");
}

#[test]
fn deploys_from_chat_are_confirmed_answered_at_once_and_recorded_as_the_person() {
    let w = world();
    let image = format!("registry.example.com/acme/shop@{DIGEST}");
    let (answer, _) = slack(&w, "UALICE", &format!("deploy {APP} production {image}"));
    let code = answer["blocks"][1]["elements"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(code.starts_with("confirm "), "{answer}");
    let (answer, _) = slack(&w, "UBOB", &code);
    assert!(
        text_of(&answer).contains("asked of someone else"),
        "{answer}"
    );
    // The cluster answers slowly: the command still answers at once (the
    // deployment is a fact), the tick carries it out, and the result is
    // posted to the command's response_url.
    w.k8s.delay(4_000);
    let (answer, url) = slack(&w, "UALICE", &code);
    assert!(text_of(&answer).contains("alice is deploying"), "{answer}");
    assert!(
        text_of(&answer).contains(&format!("as {APP}.production.1")),
        "{answer}"
    );
    w.k8s.delay(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while w.k8s.image(NS, APP).as_deref() != Some(image.as_str()) {
        assert!(Instant::now() < deadline, "the deployment never went out");
        w.env.tick();
        std::thread::sleep(Duration::from_millis(50));
    }
    let result = wait_for_post(&w, &url, &format!("{APP}.production.1"), "succeeded");
    assert!(result.contains("by alice"), "{result}");
    let key_value = std::fs::read(w.env.dir.join(".spin/sqlite_key_value.db")).unwrap();
    let url_path = url.split("/slack/").nth(1).unwrap();
    assert!(
        !String::from_utf8_lossy(&key_value).contains(url_path),
        "the response_url is kept sealed, never in the clear"
    );
    let (again, _) = slack(&w, "UALICE", &code);
    assert!(text_of(&again).contains("used or expired"), "{again}");
    let (status, releases) = w
        .env
        .api_get(&format!("/api/apps/{APP}/environments/production/releases"));
    assert_eq!(status, 200);
    assert_eq!(releases["releases"][0]["requested_by"], "alice");

    let (answer, _) = slack(&w, "UALICE", &format!("lock {APP} staging release freeze"));
    assert!(text_of(&answer).contains("alice locked"), "{answer}");
    let (answer, _) = slack(&w, "UALICE", &format!("deploy {APP} staging {image}"));
    assert!(
        text_of(&answer).contains("locked by alice: release freeze"),
        "{answer}"
    );
    let (answer, _) = slack(&w, "UALICE", &format!("status {APP}"));
    assert!(
        text_of(&answer).contains("staging locked by alice"),
        "{answer}"
    );
    let (answer, _) = slack(&w, "UALICE", &format!("unlock {APP} staging"));
    assert!(text_of(&answer).contains("alice unlocked"), "{answer}");
    let (answer, _) = slack(&w, "UALICE", &format!("deploy {APP} staging {image}"));
    assert!(
        text_of(&answer).contains(&format!("as {APP}.staging.1")),
        "{answer}"
    );
    let (answer, _) = slack(&w, "UALICE", &format!("promote {APP} staging"));
    // Refused either way: a rolling deployment has no steps to promote,
    // and once it has finished there is nothing in progress.
    let text = text_of(&answer);
    assert!(
        text.contains("promote applies to canary deployments")
            || text.contains(&format!("no deployment of {APP} to staging is in progress")),
        "{answer}"
    );
}

#[test]
fn the_response_url_fake_holds_slacks_contract() {
    let replies = FakeChatReplies::start("a", "b");
    let url = replies.slack_response_url();
    let send = |body: &str| match ureq::post(&url)
        .set("content-type", "application/json")
        .send_string(body)
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(send("not json"), 400);
    assert_eq!(send(r#"{"response_type":"loud","text":"x"}"#), 400);
    assert_eq!(send(r#"{"response_type":"in_channel"}"#), 400);
    for _ in 0..5 {
        assert_eq!(send(r#"{"response_type":"in_channel","text":"x"}"#), 200);
    }
    assert_eq!(send(r#"{"text":"sixth"}"#), 404);
}

/// A DingTalk robot message from bob saying `text` in a conversation of
/// `conversation_type` (`1`: one to one, `2`: a group); what was posted to
/// its session webhook.
fn dingtalk_says(w: &World, text: &str, conversation_type: &str, id: &str) -> Vec<Value> {
    let session = w.replies.dingtalk_session();
    let ms = now_millis();
    let sign = base64(&hmac_sha256(
        DINGTALK_SECRET.as_bytes(),
        format!("{ms}\n{DINGTALK_SECRET}").as_bytes(),
    ));
    let message = json!({
        "msgtype": "text", "text": { "content": text }, "msgId": id,
        "conversationType": conversation_type,
        "senderStaffId": "staffbob", "senderCorpId": "corp1", "senderId": "$:LWCP:x",
        "sessionWebhook": session, "sessionWebhookExpiredTime": ms + 600_000,
    })
    .to_string();
    let headers = [("timestamp", ms.to_string()), ("sign", sign)];
    let (status, answer, _) = post(&w.env, "/chat/dingtalk", &headers, &message);
    assert_eq!(status, 200, "{answer}");
    w.replies.posts(&session)
}

#[test]
fn login_links_are_given_only_where_nobody_else_reads_them() {
    let w = world();
    let group = dingtalk_says(&w, "login", "2", "msg-group");
    let text = group[0]["text"]["content"].as_str().unwrap_or_default();
    assert!(
        text.contains("direct message") && !text.contains("/login?code="),
        "{text}"
    );
    let direct = dingtalk_says(&w, "login", "1", "msg-direct");
    let text = direct[0]["text"]["content"].as_str().unwrap_or_default();
    assert!(
        text.contains("Sign in as bob") && text.contains("http://slipway.test/login?code="),
        "{text}"
    );
}
