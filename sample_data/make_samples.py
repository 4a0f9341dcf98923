"""Regenerate the sample files (deterministic).  Run: python sample_data/make_samples.py

The defects each file carries on purpose are listed in sample_data/README.md.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).parent
SYSTEM = "You are Ada, the friendly support assistant of Northwind Outdoor Gear. Answer briefly and politely."

TOPICS = [
    ("How do I reset my password?", "Go to Account → Security and choose “Reset password”. We'll e-mail you a link that is valid for 30 minutes."),
    ("Where is my order #{n}?", "You can follow order #{n} under Orders → Track. Parcels usually arrive within 3–5 working days."),
    ("Can I return a tent I have already used?", "Yes, within 60 days, as long as it is clean and complete. Start the return under Orders → Return an item."),
    ("Do you ship to Norway?", "Yes, we ship to Norway. Duties are shown at checkout, so there are no surprises on delivery."),
    ("My sleeping bag zip is broken. What can I do?", "Sorry about that! Zips are covered by our 2-year warranty. Send us a photo via the warranty form and we'll repair or replace it."),
    ("Is the Trailblazer 40L backpack waterproof?", "It is water-resistant, not waterproof. For heavy rain, add the Trailblazer rain cover (sold separately)."),
    ("How do I change my delivery address?", "If the order hasn't shipped yet, open Orders → Details → Change address. After dispatch, contact the courier with your tracking number."),
    ("Do you have a store in Lyon?", "Oui ! Our Lyon store is at 12 rue de la Ré, open Monday to Saturday, 10:00–19:00."),
    ("What size boots should I buy?", "Measure your foot in the evening and add 1 cm. Our size guide converts EU, UK and US sizes."),
    ("Can I pay in instalments?", "Yes, with Klarna at checkout for orders over €100: three payments, no interest."),
    ("Wie lange dauert der Versand nach Österreich?", "Der Versand nach Österreich dauert in der Regel 2–4 Werktage."),
    ("Do you offer student discounts?", "Yes: 10 % off with a valid student ID through our partner UNiDAYS."),
]


def support_desk() -> None:
    rows = []
    n = 1000
    openers = ["", "Hi! ", "Hello, quick question from a long-time customer: ", "Good morning. I was wondering: ", "Hey, sorry to bother you again. "]
    closers = ["", " Hope that helps!", " Anything else I can do for you?", " Have a great trip!", " Thanks for shopping with us."]
    for rep in range(5):
        for q, a in TOPICS:
            n += 7
            rows.append({"Question": openers[rep] + q.format(n=n), "Answer": a.format(n=n) + closers[rep], "Category": "support"})
    rows[3]["Answer"] = ""  # empty assistant reply (error)
    rows[5]["Question"] = "   " + rows[5]["Question"] + "  \n"  # surrounding whitespace (warning)
    rows[7]["Answer"] = "ok"  # very short reply (warning)
    rows[9] = dict(rows[8])  # exact duplicate of the previous row
    rows[14]["Answer"] = rows[2]["Answer"].replace("60 days", "sixty days")  # near duplicate / conflict
    rows[14]["Question"] = rows[2]["Question"]
    rows[20]["Question"] = 'Why does my order page show <script>alert("x")</script> and [a link](javascript:alert(1))?'
    rows[20]["Answer"] = "That is text someone pasted into a product review; it is harmless and we have removed it."
    rows[25]["Answer"] = "=HYPERLINK(\"http://example.com\",\"click\") is what I see in the invoice"
    rows.insert(30, {"Question": "", "Answer": "", "Category": ""})  # an empty row
    rows[40]["Answer"] = "Please call us at +44 20 7946 0958 or e-mail help@northwind.example and quote card 4111 1111 1111 1111."
    with (HERE / "support_desk.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["Question", "Answer", "Category"])
        w.writeheader()
        w.writerows(rows)


def multi_turn() -> None:
    convs = []
    products = ["camping stove", "head torch", "water filter", "tent", "sleeping mat", "rain jacket", "hiking boots"]
    problems = [
        ("It won't switch on", "Check the battery or fuel first: is it charged, full and fitted the right way round?", "Yes, that's all fine.", "Then please send it to us with the prepaid label in your account; we'll repair or replace it under warranty within 10 days."),
        ("It arrived with a part missing", "I'm sorry! Which part is missing? The packing list is printed on the inside of the box lid.", "The little carry bag.", "Thanks. I've sent a replacement bag today at no cost; you'll get a tracking e-mail tonight."),
    ]
    for c in range(14):
        product = products[c % len(products)]
        p1, a1, p2, a2 = problems[c % 2]
        turns = [
            (f"Hi, I bought a {product} from you last week (order NW-{7000 + c * 13}).", f"Hi! Thanks for choosing Northwind. What's going on with your {product}?"),
            (f"{p1}.", a1),
            (p2, a2),
        ]
        convs.append((f"conv-{c + 1:03d}", turns))
    rows = []
    for cid, turns in convs:
        for t, (u, a) in enumerate(turns, start=1):
            rows.append({"conversation_id": cid, "turn": t, "system": SYSTEM if t == 1 else "", "user": u, "assistant": a})
    rows[4]["assistant"] = ""  # conv-002 turn 2 has no reply: consecutive user turns (warning)
    rows[10], rows[11] = rows[11], rows[10]  # turns out of order in the file; the turn column fixes it
    rows[13]["assistant"] = "  Then the jet may be blocked.  "  # whitespace (warning)
    with (HERE / "multi_turn.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["conversation_id", "turn", "system", "user", "assistant"])
        w.writeheader()
        w.writerows(rows)


def tool_calls() -> None:
    tools = [{"type": "function", "function": {"name": "get_order_status", "description": "Look up an order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}]
    lines = []
    for i in range(14):
        oid = f"NW-{5000 + i}"
        lines.append({
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Where is my order {oid}?"},
                {"role": "assistant", "tool_calls": [{"id": f"call_{i}", "type": "function", "function": {"name": "get_order_status", "arguments": json.dumps({"order_id": oid})}}]},
                {"role": "tool", "tool_call_id": f"call_{i}", "content": json.dumps({"status": "shipped", "eta": "2026-12-0" + str(1 + i % 9)})},
                {"role": "assistant", "content": f"Your order {oid} has shipped and should arrive by December {1 + i % 9}."},
            ],
            "tools": tools,
        })
    lines[2]["messages"][3]["tool_call_id"] = "call_99"  # answers a call that was never made (error)
    lines[4]["messages"][1]["role"] = "customer"  # invalid role (error)
    lines[6]["messages"][4]["weight"] = 2  # invalid weight (error)
    lines[8]["messages"][1]["weight"] = 0  # weight on a user message (error)
    lines[10]["metadata"] = {"source": "crm"}  # extra top-level key (error)
    text = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines)
    text = text.replace('"Where is my order NW-5012?"', '"Where is my order NW-5012?"', 1)
    broken = '{"messages": [{"role": "user", "content": "unfinished'  # invalid JSON line (error)
    (HERE / "tool_calls.jsonl").write_text(text + "\n" + broken + "\n", encoding="utf-8")


if __name__ == "__main__":
    support_desk()
    multi_turn()
    tool_calls()
