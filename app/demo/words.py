"""The demo's people and what they say besides a form's answers: new hires' names, job
titles by department, notes, the colleagues who leave, rejection and cancel reasons and the
notes a worker writes on completing a step."""

# Onboarding: the new hire's name is made from these (first and last names never repeat a
# demo person's), the job title fits the department, and a few requests carry a note.
FIRST_NAMES = ["Noah", "Emma", "Liam", "Sofia", "Lucas", "Mila", "Elias", "Nora", "Oskar",
               "Lea", "Jonas", "Zoe", "Mateo", "Aisha", "Hugo", "Ines", "Arjun", "Yara",
               "Leon", "Clara", "Ravi", "Freya", "Tariq", "Julia", "Kenji", "Amira"]
LAST_NAMES = ["Jansen", "Rossi", "Nowak", "Dupont", "Silva", "Kowalski", "Lindqvist",
              "Okafor", "Moretti", "Haddad", "Visser", "Costa", "Novak", "Weber", "Nakamura",
              "Petrov", "Garcia", "Brennan", "Kaya", "Andersen"]
PERSONAL_DOMAINS = ["mail.example", "example.net", "post.example"]

JOB_TITLES = {
    "Engineering": ["Backend Engineer", "Senior Frontend Engineer", "Site Reliability Engineer",
                    "QA Engineer"],
    "Product": ["Product Manager", "Product Designer", "UX Researcher"],
    "Sales": ["Account Executive", "Sales Development Representative", "Key Account Manager"],
    "Marketing": ["Content Marketing Manager", "Performance Marketing Specialist",
                  "Brand Designer"],
    "Customer Support": ["Support Specialist", "Senior Support Engineer",
                         "Customer Success Manager"],
    "Finance": ["Accountant", "Financial Controller", "Accounts Payable Clerk"],
    "People & HR": ["HR Business Partner", "Recruiter", "Payroll Specialist"],
    "Operations": ["Office Manager", "Operations Analyst", "Procurement Specialist"],
}
# Jobs done in the office: a new hire in one never works fully remotely.
ON_SITE_TITLES = {"Office Manager"}

ONBOARDING_NOTES = [
    "Needs a sit-stand desk; the occupational health note is with HR.",
    "Buddy for the first month: Ben Becker.",
    "Spends the first week in the Lyon office, then moves to HQ.",
    "Needs read access to the CRM from day one to shadow the account team.",
    "Uses a screen reader: please install NVDA on the laptop before day one.",
    "Joins the on-call rota after the first month; no production access before then.",
    "Travels a lot: a mobile phone with a European data plan, please.",
    "Left-handed: a left-handed mouse, please.",
    "The first day is at the Berlin client site; the hiring manager meets them there.",
    "Worked here until 2023; the old employee number may still exist.",
    "Part-time, Monday to Thursday.",
    "Needs a parking space for the first two weeks, until the train pass arrives.",
]

# The people who leave in the offboarding requests: in the directory, not demo accounts.
LEAVERS = ["Peter de Vries", "Grace Okoye", "Martin Keller", "Elena Sokolova", "Tomasz Wrona",
           "Hannah Berg", "Omar Khalil", "Chloe Laurent", "Stefan Richter", "Lina Haddou",
           "Victor Lambert", "Sara Lindgren"]

# What approvers say when they reject, by service: a reason that fits what was asked.
REJECTIONS = {
    "laptop-request": ["The standard model does this work; please file again for that one.",
                       "Your laptop is under three years old; IT can repair it first."],
    "onboard-new-hire": ["This position is not in the headcount plan yet.",
                         "The start date is too close; agree a later one with the candidate."],
    "purchase-request": ["Not in this year's budget; ask again in January.",
                         "We already pay for a tool that does this; ask IT which one."],
    "system-access": ["Read-only access will do for this; please ask for that instead.",
                      "This access needs an end date; file again with one."],
}
CANCELS = ["Plans changed; no longer needed.", "Filed twice by mistake.",
           "Solved another way in the meantime."]

# What a worker notes on completing a step ({n}: a number such as an employee number or a
# purchase order's); a step not listed is completed without a note or with "Done.".
STEP_NOTES = {
    "HR paperwork": ["Employee number E-{n} created; welcome pack sent."],
    "IT account & laptop": ["Account and mailbox created; laptop LT-{n} prepared."],
    "Facilities desk & badge": ["Desk assigned; badge B-{n} printed."],
    "Prepare laptop": ["Laptop LT-{n} imaged and enrolled."],
    "Place order": ["Purchase order PO-{n} sent to the vendor."],
    "Fix the issue": ["Fixed.", "Contractor came in and fixed it (job {n})."],
    "Grant access": ["Granted through the access group; noted in the register as AR-{n}."],
}
