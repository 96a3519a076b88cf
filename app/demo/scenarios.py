"""What the demo's requests say, service by service (issue 16 item 9): each scenario is one
request's answers that belong together (a leaking tap is a plumbing issue in a kitchen, a
penetration test costs enough to need the CFO), so no request reads like a shuffled form.

Each service has more scenarios than the default demo (`baton demo`, 60 recent requests
and twelve weeks of history) files of it, and each is used once, so no two requests repeat
a title or a sentence; a bigger `--requests` uses them again with other people and dates.
"{first}" stands for the first name of the person the request is for (its person field)."""

from typing import Any

Scenario = dict[str, Any]

FACILITIES: list[Scenario] = [
    {"summary": "Leaking tap in the 2nd floor kitchen",
     "location": "HQ, 2nd floor, kitchen next to room 2.05", "issue_type": "Plumbing or leak",
     "details": "The cold tap drips all the time and by the evening there is a puddle "
                "under the sink."},
    {"summary": "Meeting room 3.12 is too hot to use in the afternoon",
     "location": "HQ, 3rd floor, meeting room 3.12",
     "issue_type": "Heating, cooling or ventilation",
     "details": "From about 13:00 the room reaches 28 °C; the wall thermostat shows the "
                "setting but nothing changes."},
    {"summary": "Broken office chair at desk 4.21", "location": "HQ, 4th floor, desk 4.21",
     "issue_type": "Furniture",
     "details": "The gas lift has gone: the seat sinks to the lowest position within minutes."},
    {"summary": "Ceiling lights flicker in the open-plan area",
     "location": "HQ, 1st floor, open-plan area by the windows",
     "issue_type": "Lights or electricity",
     "details": "Three ceiling panels flicker on and off; two people have had headaches."},
    {"summary": "Fire door by reception does not close",
     "location": "HQ, ground floor, fire door between reception and the stairwell",
     "issue_type": "Doors, locks or windows", "urgent": True,
     "details": "The door stays open about 20 cm; the closer arm seems to be loose."},
    {"summary": "Dishwasher in the 3rd floor kitchen leaves dishes dirty",
     "location": "HQ, 3rd floor, kitchen", "issue_type": "Kitchen appliances",
     "details": "Everything comes out with a grey film, even on the intensive programme."},
    {"summary": "Water on the floor of the ground floor toilets",
     "location": "HQ, ground floor, toilets next to the lifts",
     "issue_type": "Plumbing or leak", "urgent": True,
     "details": "A pipe behind the second basin leaks; the floor is wet and slippery. I put "
                "a warning sign up."},
    {"summary": "Bins in the 2nd floor kitchen not emptied",
     "location": "HQ, 2nd floor, kitchen", "issue_type": "Cleaning",
     "details": "The bins have not been emptied since Monday and it has started to smell."},
    {"summary": "Window in room 1.08 will not lock", "location": "HQ, 1st floor, room 1.08",
     "issue_type": "Doors, locks or windows",
     "details": "The handle turns all the way round without locking; the window can be "
                "pushed open from outside."},
    {"summary": "No power at desks 2.30 to 2.33", "location": "HQ, 2nd floor, desks 2.30-2.33",
     "issue_type": "Lights or electricity", "urgent": True,
     "details": "The floor sockets at four desks went dead this morning; the people there "
                "cannot charge their laptops."},
    {"summary": "Coffee machine in the 4th floor kitchen shows an error",
     "location": "HQ, 4th floor, kitchen", "issue_type": "Kitchen appliances",
     "details": "It shows error E-12 and will not brew; descaling did not help."},
    {"summary": "Air conditioning too cold in the support area",
     "location": "HQ, 1st floor, customer support area, desks 1.40-1.46",
     "issue_type": "Heating, cooling or ventilation",
     "details": "The vents blow cold air onto the desks all day; people work in their coats."},
    {"summary": "Wobbly table in meeting room 2.14", "location": "HQ, 2nd floor, room 2.14",
     "issue_type": "Furniture"},
    {"summary": "Coffee spilled on the lobby carpet", "location": "HQ, ground floor, lobby",
     "issue_type": "Cleaning"},
    {"summary": "Fridge in the 1st floor kitchen is not cooling",
     "location": "HQ, 1st floor, kitchen", "issue_type": "Kitchen appliances",
     "details": "Milk went off within a day; the thermometer inside reads 12 °C."},
    {"summary": "Broken blind in meeting room 4.02", "location": "HQ, 4th floor, room 4.02",
     "issue_type": "Other",
     "details": "The blind's cord snapped and in the afternoon the sun shines straight onto "
                "the screen."},
]

LAPTOPS: list[Scenario] = [
    {"summary": "Replacement laptop: the battery lasts under an hour",
     "reason": "Replacement: broken", "model": "Standard office laptop (14\")",
     "details": "The battery is at 41 % health and the laptop turns off without warning."},
    {"summary": "Developer laptop for {first}, who joins the platform team", "for_other": True,
     "reason": "Additional laptop for a new role", "model": "Developer laptop (16\", 32 GB)",
     "details": "{first} builds the data pipeline from next month and has to run the full "
                "stack locally."},
    {"summary": "Replacement laptop, the current one is five years old",
     "reason": "Replacement: older than four years", "model": "Standard office laptop (14\")",
     "details": "It takes minutes to start and no longer gets operating system updates."},
    {"summary": "Laptop stolen from my car", "reason": "Replacement: lost or stolen",
     "model": "Standard office laptop (14\")",
     "details": "Stolen from my car outside the Lyon office on Tuesday evening; police "
                "report number 2026-LY-48213. Security has been told."},
    {"summary": "Design laptop for {first}", "for_other": True,
     "reason": "Additional laptop for a new role",
     "model": "Design laptop (16\", colour-calibrated)",
     "details": "{first} moves to the brand team and checks print colour proofs, which need "
                "a calibrated screen."},
    {"summary": "Replacement laptop: cracked screen", "reason": "Replacement: broken",
     "model": "Standard office laptop (14\")",
     "details": "The screen cracked when the laptop fell off the desk; its lower half shows "
                "lines."},
    {"summary": "Mac for building the iOS app", "reason": "Additional laptop for a new role",
     "model": "Mac (only where the role requires macOS)",
     "details": "I take over the iOS app releases, and Xcode runs only on macOS."},
    {"summary": "Replacement for {first}'s laptop, keys failing", "for_other": True,
     "reason": "Replacement: broken", "model": "Standard office laptop (14\")",
     "details": "The E, R and T keys only register when pressed hard; an external keyboard "
                "is a stopgap."},
    {"summary": "Laptop left on a train", "reason": "Replacement: lost or stolen",
     "model": "Developer laptop (16\", 32 GB)",
     "details": "Left on the 18:05 train to Utrecht on Thursday; lost property has not found "
                "it. Security locked it remotely."},
    {"summary": "Replacement laptop: overheats during builds", "reason": "Replacement: broken",
     "model": "Developer laptop (16\", 32 GB)",
     "details": "The fan runs at full speed during calls and the laptop slows down until "
                "builds take twice as long."},
    {"summary": "Replacement design laptop after four years",
     "reason": "Replacement: older than four years",
     "model": "Design laptop (16\", colour-calibrated)",
     "details": "The colour calibration drifts, the battery is swollen and the trackpad no "
                "longer clicks."},
    {"summary": "Shared laptop for the support phone room", "reason": "Other",
     "model": "Standard office laptop (14\")",
     "details": "So whoever is on call can take calls in the phone room without unplugging "
                "their own laptop."},
    {"summary": "Replacement laptop: it will not charge", "reason": "Replacement: broken",
     "model": "Standard office laptop (14\")",
     "details": "It charges only with the cable held at an angle; IT checked and the port is "
                "worn."},
    {"summary": "Developer laptop for {first}: 16 GB is not enough", "for_other": True,
     "reason": "Other", "model": "Developer laptop (16\", 32 GB)",
     "details": "{first} runs the test suite and two databases locally, and the machine "
                "swaps all day."},
]

OFFBOARDINGS: list[Scenario] = [
    {"reason": "Resignation", "equipment_to_return": ["Laptop", "Monitor", "Access badge"],
     "notes": "Moves to a competitor: check that no customer data went to personal "
              "accounts."},
    {"reason": "End of fixed-term contract",
     "equipment_to_return": ["Laptop", "Headset", "Access badge"],
     "notes": "The migration project ends; its wiki should stay readable by the team."},
    {"reason": "Retirement",
     "equipment_to_return": ["Laptop", "Mobile phone", "Access badge", "Keys"],
     "notes": "The keys are for the archive room."},
    {"reason": "Termination", "immediate_revocation": True,
     "equipment_to_return": ["Laptop", "Access badge", "Company credit card"],
     "notes": "Access must end today; HR has the details. The manager already has the "
              "credit card."},
    {"reason": "Resignation", "equipment_to_return": ["Laptop", "Docking station", "Headset"],
     "notes": "Works remotely from Porto: send a courier box for the equipment."},
    {"reason": "Internal transfer to another entity", "equipment_to_return": ["Access badge"],
     "notes": "Joins the Berlin entity and keeps the laptop; only the badge and the HQ "
              "accounts go."},
    {"reason": "Resignation",
     "equipment_to_return": ["Laptop", "Monitor", "Docking station", "Access badge"],
     "notes": "Administers the marketing social media accounts; change their passwords "
              "after the last day."},
    {"reason": "End of fixed-term contract", "equipment_to_return": ["Laptop", "Access badge"]},
    {"reason": "Resignation",
     "equipment_to_return": ["Laptop", "Mobile phone", "Access badge"],
     "notes": "Two expense claims are still open; Finance settles them with the final pay."},
    {"reason": "Retirement", "equipment_to_return": ["Laptop", "Monitor", "Keys", "Access badge"],
     "notes": "Thirty-one years with the company; the team is planning a farewell lunch."},
    {"reason": "Resignation", "equipment_to_return": ["Laptop", "Headset"],
     "notes": "Works three days a week; the holiday left is agreed with the manager."},
    {"reason": "Termination", "immediate_revocation": True,
     "equipment_to_return": ["Laptop", "Access badge", "Keys"],
     "notes": "Revoke access at once; the manager collects the laptop in person."},
]

OFFICE_MOVES: list[Scenario] = [
    {"summary": "Support team to the 3rd floor east wing", "people_count": 6,
     "current_location": "HQ, 2nd floor, desks 2.14-2.19",
     "new_location": "HQ, 3rd floor, desks 3.30-3.35",
     "needs": ["Desks & chairs", "Monitors & docking stations", "Desk phones"],
     "notes": "Two people use sit-stand desks that must move with them."},
    {"summary": "Finance team to room 4.10", "people_count": 4,
     "current_location": "HQ, 1st floor, desks 1.20-1.23",
     "new_location": "HQ, 4th floor, room 4.10",
     "needs": ["Filing cabinets", "Monitors & docking stations"],
     "notes": "The filing cabinets are locked; Finance opens them on the day."},
    {"summary": "My desk from 2.41 to 2.03, by the window", "people_count": 1,
     "current_location": "HQ, 2nd floor, desk 2.41", "new_location": "HQ, 2nd floor, desk 2.03",
     "needs": ["Monitors & docking stations"]},
    {"summary": "Data team to the Lyon office", "people_count": 5,
     "current_location": "HQ, 3rd floor, desks 3.01-3.05",
     "new_location": "Lyon office, 1st floor, desks L1.10-L1.14",
     "needs": ["Monitors & docking stations", "Lockers"],
     "notes": "The Lyon office has no printer yet; check that its network ports are "
              "patched."},
    {"summary": "Recruiting team to the 1st floor, next to HR", "people_count": 3,
     "current_location": "HQ, 4th floor, desks 4.30-4.32",
     "new_location": "HQ, 1st floor, desks 1.50-1.52",
     "needs": ["Desks & chairs", "Desk phones"],
     "notes": "The interview room bookings stay as they are."},
    {"summary": "Sales team to the ground floor open-plan area", "people_count": 9,
     "current_location": "HQ, 2nd floor, desks 2.50-2.58",
     "new_location": "HQ, ground floor, desks 0.10-0.18",
     "needs": ["Desks & chairs", "Monitors & docking stations", "Desk phones", "Printer"],
     "notes": "The printer is shared with Marketing; move it last."},
    {"summary": "Design studio to room 4.15", "people_count": 4,
     "current_location": "HQ, 4th floor, desks 4.01-4.04",
     "new_location": "HQ, 4th floor, room 4.15",
     "needs": ["Monitors & docking stations", "Plants & decoration"],
     "notes": "Two monitors are colour-calibrated; please do not stack them."},
    {"summary": "My desk next to the product team", "people_count": 1,
     "current_location": "HQ, 3rd floor, desk 3.22", "new_location": "HQ, 3rd floor, desk 3.41",
     "needs": ["Monitors & docking stations"]},
    {"summary": "Customer success team to the 2nd floor west wing", "people_count": 7,
     "current_location": "HQ, 1st floor, desks 1.40-1.46",
     "new_location": "HQ, 2nd floor, desks 2.60-2.66",
     "needs": ["Desks & chairs", "Monitors & docking stations", "Desk phones", "Lockers"],
     "notes": "The ergonomic chair from desk 1.44 moves with its owner."},
    {"summary": "Legal team to the closed offices on the 4th floor", "people_count": 3,
     "current_location": "HQ, 3rd floor, desks 3.50-3.52",
     "new_location": "HQ, 4th floor, rooms 4.20 and 4.21",
     "needs": ["Filing cabinets", "Desks & chairs"],
     "notes": "The cabinets hold signed contracts and must not be left unattended."},
    {"summary": "Operations team to the warehouse office", "people_count": 2,
     "current_location": "HQ, ground floor, desks 0.30-0.31",
     "new_location": "Warehouse, office above the loading bay",
     "needs": ["Monitors & docking stations", "Desk phones"],
     "notes": "The warehouse has its own badge readers; Security must add both people."},
]

PURCHASES: list[Scenario] = [
    {"summary": "20 seats of Figma Professional for one year", "amount": 4800,
     "vendor": "Figma Inc.", "vendor_contact": "sales@figma.example",
     "cost_type": "Software subscription", "recurring": True,
     "justification": "The design team moves its files to Figma so product and engineering "
                      "can comment on designs directly. Budget line: design tools."},
    {"summary": "KubeCon Europe tickets for three engineers", "amount": 3900,
     "vendor": "The Linux Foundation", "cost_type": "Training & conferences",
     "justification": "The platform engineers learn the cluster upgrade path we plan for "
                      "next year; tickets are cheaper before the end of the month."},
    {"summary": "Twelve office chairs for the support area", "amount": 6200,
     "vendor": "Ergo Seating GmbH", "vendor_contact": "orders@ergoseating.example",
     "cost_type": "Office supplies",
     "justification": "The chairs in the support area are broken or worn out; Facilities "
                      "recommends this model after last spring's trial."},
    {"summary": "Penetration test of the customer portal", "amount": 28500,
     "vendor": "SecureLine Consulting", "vendor_contact": "bids@secureline.example",
     "cost_type": "Professional services",
     "justification": "Two enterprise contracts require a yearly penetration test; "
                      "SecureLine did last year's and knows the system."},
    {"summary": "Toner and paper for the 2nd floor printers", "amount": 640,
     "vendor": "OfficeWorld", "cost_type": "Office supplies",
     "justification": "Next quarter's stock for the two printers on the 2nd floor; the last "
                      "toner cartridge is in use."},
    {"summary": "Stand at SaaS Expo Amsterdam", "amount": 18000, "vendor": "Expo Events BV",
     "vendor_contact": "stands@expoevents.example", "cost_type": "Marketing & events",
     "justification": "A 12 m² stand for the three-day expo where we launch the new plan; "
                      "last year's stand brought 140 qualified leads."},
    {"summary": "Data warehouse capacity upgrade for one year", "amount": 42000,
     "vendor": "Snowfield Data", "vendor_contact": "accounts@snowfield.example",
     "cost_type": "Software subscription", "recurring": True,
     "justification": "Query volume doubled with the new dashboards and we hit the capacity "
                      "limit every Monday morning, which holds up the finance reports."},
    {"summary": "Nine noise-cancelling headsets for Sales", "amount": 2250, "vendor": "AudioPro",
     "cost_type": "Hardware",
     "justification": "Sales make their calls from the open-plan area and the current wired "
                      "headsets are broken."},
    {"summary": "Leadership course for six new team leads", "amount": 7400,
     "vendor": "Northbridge Academy", "vendor_contact": "training@northbridge.example",
     "cost_type": "Training & conferences",
     "justification": "HR chose this two-day course from three offers for the team leads "
                      "promoted this year."},
    {"summary": "German translation of the help centre", "amount": 3100,
     "vendor": "Linguist Partners", "vendor_contact": "projects@linguist.example",
     "cost_type": "Professional services",
     "justification": "German customers are a third of new sign-ups and ask Support for the "
                      "same translated articles every week."},
    {"summary": "Password manager renewal for 200 users", "amount": 9600,
     "vendor": "KeyVault Ltd", "vendor_contact": "renewals@keyvault.example",
     "cost_type": "Software subscription", "recurring": True,
     "justification": "Security requires the company password manager and the current "
                      "licence ends next month."},
    {"summary": "Forty sit-stand desks for the 3rd floor", "amount": 31000,
     "vendor": "Office Furniture Direct", "vendor_contact": "sales@ofd.example",
     "cost_type": "Office supplies",
     "justification": "The occupational health review asked for sit-stand desks on the "
                      "engineering floor instead of the fixed ones."},
    {"summary": "Stock photo subscription for Marketing", "amount": 890, "vendor": "PhotoStock",
     "cost_type": "Software subscription", "recurring": True,
     "justification": "Blog and social posts need licensed images, and buying them one by "
                      "one costs more each month."},
]

SOFTWARE: list[Scenario] = [
    {"software": "Wireshark 4.2", "licence": "Free or open source",
     "purpose": "To capture the traffic between the support desk and the telephony server "
                "while we find out why calls drop."},
    {"software": "Adobe Illustrator", "licence": "Company already has a licence",
     "purpose": "To edit the vector logos for the trade fair stand; Marketing has a spare "
                "seat."},
    {"software": "Docker Desktop", "licence": "Company already has a licence",
     "purpose": "To run the customer portal's local development environment."},
    {"software": "Power BI Desktop", "licence": "Free or open source",
     "purpose": "To build the monthly sales dashboard from the data warehouse exports."},
    {"software": "Python 3.12", "licence": "Free or open source",
     "purpose": "To run the forecast scripts Finance keeps in its repository."},
    {"software": "Tableau Desktop", "licence": "Licence bought with a purchase request",
     "purpose": "For the churn analysis; the purchase request for the licence was approved "
                "last week."},
    {"software": "DBeaver", "licence": "Free or open source",
     "purpose": "To query the support database's read-only copy when customers ask for "
                "exports."},
    {"software": "Microsoft Visio", "licence": "Not sure",
     "purpose": "To open the network diagrams of the Lyon office, which were drawn in Visio."},
    {"software": "AutoCAD LT", "licence": "Company already has a licence",
     "purpose": "To update the floor plans after desk moves; Facilities keeps them as DWG "
                "files."},
    {"software": "Postman", "licence": "Free or open source",
     "purpose": "To test the partner API before the integration goes live."},
    {"software": "Camtasia 2024", "licence": "Licence bought with a purchase request",
     "purpose": "To record the onboarding videos for new customers in the help centre."},
    {"software": "Git for Windows", "licence": "Free or open source",
     "purpose": "To check out the documentation repository and edit help centre articles."},
]

SYSTEM_ACCESS: list[Scenario] = [
    {"summary": "Read access to the CRM for the Q3 churn analysis", "system": "CRM (Salesforce)",
     "access_level": "Read only", "days": 60,
     "justification": "I analyse why customers cancelled in Q3 and need their account "
                      "history; read-only is enough."},
    {"summary": "ERP access to enter supplier invoices",
     "system": "ERP (finance & purchasing)", "access_level": "Standard user",
     "justification": "I join accounts payable next week and will enter supplier invoices "
                      "every day."},
    {"summary": "Cloud console admin for the database upgrade",
     "system": "Production cloud console", "access_level": "Administrator", "days": 7,
     "justification": "The upgrade changes instance sizes and parameter groups, which a "
                      "standard user cannot; only for the maintenance window."},
    {"summary": "Data warehouse access for the campaign dashboards",
     "system": "Data warehouse", "access_level": "Standard user",
     "justification": "I build the campaign dashboards and query the marketing and web "
                      "analytics schemas."},
    {"summary": "Write access to the documentation repository",
     "system": "Code repositories", "access_level": "Standard user",
     "justification": "The help centre articles I maintain live there and I need to open "
                      "pull requests."},
    {"summary": "HR system access to approve my team's holidays", "system": "HR system",
     "access_level": "Power user",
     "justification": "I became a team lead this month and approve my team's holiday "
                      "requests from now on."},
    {"summary": "Read access to the department's spend in the ERP",
     "system": "ERP (finance & purchasing)", "access_level": "Read only", "days": 45,
     "justification": "For next year's budget I need the actual spend by cost centre for "
                      "the last two years."},
    {"summary": "CRM import rights for the trade fair leads", "system": "CRM (Salesforce)",
     "access_level": "Power user", "days": 14,
     "justification": "About 400 leads from the stand's badge scanner need importing, and a "
                      "standard user cannot run imports."},
    {"summary": "Read access to the cloud console for on-call",
     "system": "Production cloud console", "access_level": "Read only",
     "justification": "I join the on-call rota next month and must see logs and metrics "
                      "during incidents."},
    {"summary": "Support desk admin to set up the regional queues", "system": "Support desk",
     "access_level": "Administrator", "days": 7,
     "justification": "Support splits into three regional queues; creating queues and their "
                      "routing rules needs administrator rights for a week."},
    {"summary": "Warehouse read access for the payroll audit", "system": "Data warehouse",
     "access_level": "Read only", "days": 30,
     "justification": "The external auditors ask for last year's salary payments and I "
                      "prepare the extract for them."},
    {"summary": "Read access to the design system repository", "system": "Code repositories",
     "access_level": "Read only",
     "justification": "I design the new sign-up screens and want to reuse the components "
                      "that already exist."},
    {"summary": "Access to RoomPlanner for the offsite", "system": "Other",
     "access_level": "Standard user", "days": 30,
     "justification": "RoomPlanner, the meeting room booking tool, is not in the list; I "
                      "book the rooms for the leadership offsite."},
]
