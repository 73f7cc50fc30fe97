"""Text tables of the support-ticket example: issue templates, framings and slot fillers.

A template is a sentence with ``{slot}`` fields; a slot name with a trailing digit
(``{product2}``) draws a second value from the same pool as ``{product}``.
"""

from __future__ import annotations

from typing import Final

# Issue statements per class and subtopic. The vocabulary overlaps on purpose: "order",
# "charge", "refund", "app", "package" and "account" each occur in several classes.
ISSUES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "billing": {
        "double_charge": (
            "I was charged twice for order {order}.",
            "My card shows two identical charges of {amount} for one order.",
            "You billed me {amount} two times for the {product}.",
            "There is a duplicate charge of {amount} on my statement from {when}.",
            "The same payment for order {order} went through twice, please refund one.",
        ),
        "invoice": (
            "Can you send me an invoice for order {order}?",
            "The invoice for order {order} has the wrong company name on it.",
            "I need a VAT invoice for my purchase of the {product}.",
            "My invoice says {amount} but I paid less at checkout.",
            "Where in my account can I download the invoices for last year?",
        ),
        "payment_failed": (
            "My card keeps getting declined at checkout even though it works everywhere else.",
            "The payment of {amount} failed but the money still left my bank account.",
            "PayPal says the payment for order {order} failed, what do I do?",
            "Why was my card declined when I tried to pay for the {product}?",
        ),
        "subscription_price": (
            "My {plan} went up to {amount} a month without any notice.",
            "I was charged {amount} for the {plan} renewal although I cancelled it.",
            "Why does my {plan} cost more this month than last month?",
            "The app charged me {amount} for a {plan} I never signed up for.",
            "Please refund the {amount} renewal charge for my {plan}, I never used it.",
        ),
        "wrong_amount": (
            "The discount code was not applied and I paid the full {amount}.",
            "I was charged {amount} for the {product} instead of the advertised price.",
            "You charged me a shipping fee although my order was over the free shipping limit.",
            "The total on my card is {amount} higher than the order confirmation.",
        ),
    },
    "shipping": {
        "not_arrived": (
            "My package for order {order} never arrived.",
            "The parcel with my {product} still hasn't come after {days}.",
            "Tracking says delivered but there is no package at my door.",
            "Order {order} was supposed to arrive {when} and nothing came.",
            "{carrier} marked my parcel as delivered, but I never got it.",
        ),
        "delayed": (
            "My order {order} has been stuck in transit for {days}.",
            "The delivery of my {product} keeps getting pushed back.",
            "When will my {product} ship? I ordered it {days} ago.",
            "Order {order} still shows 'processing' after {days}, when will it be sent?",
        ),
        "tracking": (
            "The tracking number for order {order} doesn't work on the {carrier} site.",
            "I never received a tracking number for my order.",
            "The tracking page has shown 'label created' for {days}.",
            "{carrier} tracking for my parcel hasn't updated in {days}.",
            "The app says my package has been out for delivery for {days}.",
        ),
        "address_change": (
            "I typed the wrong delivery address for order {order}, can you change it?",
            "Can I change the shipping address before order {order} is dispatched?",
            "The courier left my package at the wrong address.",
            "Please redirect the parcel with my {product} to my work address.",
            "The address in my account is right, but the courier went to my old one.",
        ),
        "delivery_options": (
            "Do you ship to {country}?",
            "Can I get express delivery for the {product}?",
            "How long does standard shipping to {country} take?",
            "Can the driver leave the package with a neighbour if I'm not home?",
        ),
    },
    "technical": {
        "app_crash": (
            "The app crashes every time I open {app_part} on my {device}.",
            "Your app closes by itself right after the start screen on my {device}.",
            "Since the last update the app freezes when I try to view my orders.",
            "The app crashes as soon as I tap on {app_part}.",
        ),
        "website_error": (
            "The checkout page shows {error} when I click pay.",
            "Your website won't load in {browser}, I just get {error}.",
            "The search on your site returns {error} for every product.",
            "I get {error} whenever I open {app_part} on the website.",
        ),
        "feature_bug": (
            "My order history is empty in the app but fine on the website.",
            "Notifications stopped working on my {device} after the update.",
            "Product pictures don't load in {browser}.",
            "The button to add the {product} to my cart does nothing.",
            "The app shows my cart in a different language since the update.",
        ),
        "performance": (
            "The app is extremely slow on my {device}, every page takes {seconds} seconds.",
            "The site keeps timing out when I add the {product} to the cart.",
            "{app_part} takes forever to load in {browser}.",
            "The app drains my {device} battery and gets really hot.",
        ),
        "connectivity": (
            "The {gadget} won't pair with your app over Bluetooth.",
            "The firmware update for my {gadget} fails at {percent} percent.",
            "The {gadget} keeps disconnecting from the app on my {device}.",
            "The app can't find my {gadget} on the wifi network.",
        ),
    },
    "account": {
        "login_failed": (
            "I can't log in to my account, it says my password is wrong.",
            "Every time I sign in I'm sent back to the login page.",
            "I get 'invalid credentials' even though my password is correct.",
            "I can't sign in to my account on my {device} any more.",
            "The app won't accept my password since I changed my email.",
        ),
        "password_reset": (
            "The password reset email never arrives.",
            "The reset link says it has expired the moment I click it.",
            "I reset my password twice and still can't get into my account.",
            "How do I change my password? I can't find the option.",
        ),
        "locked": (
            "My account was locked after too many login attempts.",
            "My account has been suspended and I don't know why.",
            "It says my account is disabled, please unlock it.",
        ),
        "profile_update": (
            "How do I change the email address on my account?",
            "I want to update the phone number in my profile.",
            "Please change the name on my account to {name}.",
            "I can't save the new address in my account settings.",
        ),
        "account_deletion": (
            "Please delete my account and all my personal data.",
            "How do I close my account for good?",
            "I have two accounts by mistake, can you merge them?",
        ),
        "security": (
            "Someone logged in to my account from {country}, it wasn't me.",
            "I lost my phone and can't get the two-factor code to sign in.",
            "I got an email about a new login that I didn't make.",
            "I think my account was hacked, my email address was changed.",
        ),
    },
    "returns": {
        "return_request": (
            "I'd like to return the {product}, it doesn't fit.",
            "How do I send back the {product} from order {order}?",
            "Can I still return the {product} if the box is opened?",
            "I want to return order {order}, I changed my mind.",
        ),
        "refund_status": (
            "I sent back the {product} {days} ago and still haven't got my refund.",
            "Where is the refund for my returned order {order}?",
            "You received my return {when} but the refund hasn't arrived.",
            "My return was accepted but the refund of {amount} never showed up.",
            "I started a return in the app, when will the refund reach my bank account?",
            "Will I be charged for return shipping on order {order}?",
        ),
        "exchange": (
            "I want to exchange the {product} for {variant}.",
            "Can I swap the {product} from order {order} for {variant}?",
            "The {product} is too small, can I exchange it instead of a refund?",
        ),
        "return_label": (
            "The return label you emailed me won't print.",
            "I need a prepaid return label for order {order}.",
            "The return label has the wrong address on it.",
            "The drop-off point refused my return package because of the label.",
        ),
        "faulty_item": (
            "The {product} arrived broken and I want to send it back.",
            "The {product} stopped working after {days}, I want to return it for a refund.",
            "The {product} I received is damaged, how do I return it?",
            "Half of order {order} is the wrong item, I need to send it back.",
        ),
    },
    "other": {
        "job_application": (
            "I'd like to apply for the {job} position, my CV is attached.",
            "Are you hiring in {city}? I'd love to work for your company.",
            "Is the {job} job in your careers page still open?",
            "Could you forward my application for the {job} role to HR?",
        ),
        "sales_pitch": (
            "We are {company}, an agency that can double your online sales. Can we book a call?",
            "I'd like to discuss a partnership between {company} and your brand.",
            "Would you be interested in stocking our products in your store?",
            "{company} offers cheap SEO and marketing services for your website.",
        ),
        "spam": (
            "Congratulations, you have won a {prize}! Click the link to claim it.",
            "Earn {amount} a day from home, reply to this message to learn how.",
            "Limited offer: buy followers for your social media accounts now.",
        ),
        "press": (
            "I'm a journalist at {outlet}, could someone comment on online retail trends?",
            "{outlet} would like to interview your CEO about the company's growth.",
            "Who handles press requests? I'm writing an article for {outlet}.",
        ),
        "feedback": (
            "Just wanted to say your support team was amazing, thank you!",
            "I love the {product} I bought, great quality, keep it up.",
            "Suggestion: it would be nice to have a dark mode in the catalogue.",
            "Your shop is my favourite, I tell all my friends about it.",
        ),
        "unsupported_request": (
            "Do you sell {unsold}?",
            "Can you repair an old {gadget} that I bought from another shop?",
            "Do you offer car insurance or phone contracts?",
            "Can I book a table at your store's cafe for Saturday?",
        ),
    },
}

# Ways a writer rules out a team: what each class is "not about".
NOT_ABOUT: Final[dict[str, tuple[str, ...]]] = {
    "billing": ("my bill", "a charge", "my invoice", "a payment"),
    "shipping": ("the delivery", "shipping", "tracking my parcel"),
    "technical": ("a bug", "the app crashing", "a technical problem"),
    "account": ("my password", "my login", "my account settings"),
    "returns": ("a return", "sending something back", "a refund for a return"),
}

# {wrong} is a class name, {wrong_thing} a NOT_ABOUT phrase, {issue} the real issue.
NEGATION_FRAMES: Final[tuple[str, ...]] = (
    "Not a {wrong} question: {issue}",
    "This isn't about {wrong_thing}. {issue}",
    "This is NOT a {wrong} issue. {issue}",
    "I don't need help with {wrong_thing}. {issue}",
    "Please don't send this to {wrong}. {issue}",
    "It's not {wrong_thing} this time: {issue}",
    "Before you ask, it has nothing to do with {wrong_thing}. {issue}",
    "This is not for the {wrong} team. {issue}",
)

# {primary} is the labelled intent, {secondary} a less urgent one from another class.
MULTI_FRAMES: Final[tuple[str, ...]] = (
    "Mainly: {primary} Also, less urgent: {secondary}",
    "{secondary} But the real problem is this: {primary}",
    "Two things. Most important: {primary} Second, not urgent: {secondary}",
    "{secondary} That can wait, though. What I really need help with: {primary}",
    "My main issue: {primary} (Side note: {secondary})",
    "Urgent: {primary} Less important: {secondary}",
    "{primary} That's the main thing. Also, when you have time: {secondary}",
    "Small thing first: {secondary} The big problem: {primary}",
)

# Tickets too unspecific to route, with the teams they could plausibly belong to.
VAGUE: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("I have a problem with my order, please help.", ("shipping", "billing", "returns")),
    ("Something is wrong with order {order}.", ("shipping", "billing", "returns")),
    ("Can you check what's going on with order {order}?", ("shipping", "billing")),
    ("I'm still waiting for my money.", ("billing", "returns")),
    ("It doesn't work.", ("technical", "account")),
    ("Nothing works since {when}.", ("technical", "account")),
    ("I need help with the {product}.", ("technical", "returns", "shipping")),
    ("There's an issue with the charge and the package.", ("billing", "shipping")),
    ("Please call me about order {order}.", ("shipping", "returns", "billing")),
    ("I'm not happy with my purchase.", ("returns", "billing")),
    ("The app and my account are giving me trouble.", ("technical", "account")),
    ("I can't finish my order.", ("technical", "billing", "account")),
    ("The {product} is still not sorted out.", ("returns", "shipping")),
    ("Please fix this, it's the second time I write.", ("technical", "billing", "account")),
)

OPENERS: Final[tuple[str, ...]] = (
    "Hi,", "Hello,", "Hello team,", "Hi there,", "Good morning,", "Good afternoon,",
    "Dear support,", "Hey,", "To whom it may concern,", "Hi support team,",
)

CLOSERS: Final[tuple[str, ...]] = (
    "Thanks.", "Thank you!", "Thanks, {name}", "Best regards, {name}", "Regards,",
    "Cheers, {name}", "Please help asap.", "Thanks in advance.", "Kind regards",
    "Sent from my {device}", "Looking forward to your reply.", "- {name}",
)

# Class-neutral context a writer adds in a long ticket.
CONTEXT: Final[tuple[str, ...]] = (
    "I've been a customer for years.",
    "I already wrote about this {when}.",
    "This is my second message about this.",
    "I ordered {when}.",
    "My customer number is {customer}.",
    "I tried again this morning, same result.",
    "Sorry for the long message.",
    "I'm writing from my {device}.",
)

# Class-specific detail a writer adds in a long ticket.
DETAILS: Final[dict[str, tuple[str, ...]]] = {
    "billing": (
        "My bank statement shows it clearly.",
        "I can send a screenshot of my card statement.",
        "I paid with my credit card.",
        "I need the money back before the end of the month.",
    ),
    "shipping": (
        "I've asked my neighbours, nobody has it.",
        "The tracking page is no help at all.",
        "I need it before my trip on Friday.",
        "I was home all day waiting for the driver.",
    ),
    "technical": (
        "I already reinstalled the app and restarted my phone.",
        "I cleared the cache and it still happens.",
        "It worked fine until last week.",
        "I can send you a screenshot of the error.",
    ),
    "account": (
        "I've used the same email for years.",
        "I checked my spam folder too.",
        "I need to get in to see my orders.",
        "I don't have access to my old phone number.",
    ),
    "returns": (
        "Everything is still in the original packaging.",
        "I'm within the 30-day return window.",
        "I kept the receipt from the drop-off point.",
        "I don't want store credit, just my money back.",
    ),
    "other": (
        "I hope this is the right address for this.",
        "No need to reply if this isn't for you.",
        "Feel free to forward this to the right person.",
    ),
}

# Out-of-domain requests for the OOD probe set: everything here is labelled "other".
OOD: Final[dict[str, tuple[str, ...]]] = {
    "recipe": (
        "How do I make {dish} at home?",
        "What can I cook tonight with {ingredient} and {ingredient2}?",
        "How long should I bake {dish} for?",
        "Is there a vegan version of {dish}?",
    ),
    "weather": (
        "Will it rain in {city} tomorrow?",
        "What's the weather like in {city} in {month}?",
        "Do I need an umbrella in {city} this weekend?",
        "How cold does it get in {city} in winter?",
    ),
    "trivia": (
        "Who painted the Mona Lisa?",
        "How tall is the tallest mountain in the world?",
        "What is the capital of {nation}?",
        "How many legs does a {creature} have?",
        "Who wrote {book}?",
    ),
    "poetry": (
        "Write me a short poem about {theme}.",
        "Can you write a haiku about {theme}?",
        "I need a rhyming birthday poem for my {relative}.",
    ),
    "homework_math": (
        "What is {num} times {num2}?",
        "Solve for x: {num}x + {num2} = {num3}.",
        "What is {num} percent of {num3}?",
        "Is {num3} a prime number?",
    ),
    "translation": (
        "How do you say '{phrase}' in {language}?",
        "Translate '{phrase}' into {language}, please.",
        "What does '{foreign}' mean in English?",
    ),
    "medical": (
        "I've had {symptom} for {days}, should I see a doctor?",
        "Can I take ibuprofen for {symptom}?",
        "Is {symptom} a sign of something serious?",
    ),
    "legal": (
        "Can my landlord keep my deposit if I leave early?",
        "Do I need a lawyer to write a will in {nation}?",
        "Is it legal to fly a drone over {city}?",
    ),
    "chitchat": (
        "How are you today?",
        "Tell me a joke about {creature}s.",
        "What's your favourite {favourite}?",
        "I'm bored, what should I do this weekend in {city}?",
        "Do you like {theme}?",
    ),
}

SLOT_VALUES: Final[dict[str, tuple[str, ...]]] = {
    "product": (
        "running shoes", "wireless headphones", "coffee maker", "winter jacket",
        "phone case", "desk lamp", "yoga mat", "backpack", "blender", "rain boots",
        "office chair", "kettle", "sunglasses", "bed sheets", "water bottle", "toaster",
        "denim jeans", "board game", "hair dryer", "wool sweater", "frying pan",
        "bike helmet", "travel mug", "desk organiser", "sneakers", "duvet cover",
        "bluetooth speaker", "laptop sleeve", "garden hose", "floor lamp",
    ),
    "gadget": (
        "smart watch", "fitness tracker", "smart bulb", "robot vacuum", "baby monitor",
        "smart speaker", "doorbell camera", "smart plug", "e-reader", "thermostat",
    ),
    "device": (
        "iPhone", "Android phone", "iPad", "Samsung tablet", "Windows laptop", "MacBook",
        "Pixel phone", "Chromebook",
    ),
    "browser": ("Chrome", "Firefox", "Safari", "Edge", "Opera"),
    "error": (
        "error 500", "a blank page", "'something went wrong'", "a 404 page",
        "a spinning wheel that never stops", "error code E-403", "'service unavailable'",
    ),
    "app_part": (
        "the cart", "my order history", "the search screen", "the settings page",
        "the product page", "the wishlist", "the checkout", "the store locator",
    ),
    "carrier": ("UPS", "DHL", "FedEx", "USPS", "DPD", "Royal Mail", "the courier"),
    "days": (
        "three days", "a week", "two weeks", "ten days", "over a month", "five days",
        "nine days", "three weeks",
    ),
    "when": (
        "yesterday", "last Monday", "on Friday", "two days ago", "last week",
        "this morning", "on the 3rd", "a week ago",
    ),
    "plan": (
        "Premium plan", "Basic plan", "annual membership", "Plus subscription",
        "family plan", "monthly subscription",
    ),
    "country": (
        "Canada", "Ireland", "Norway", "Australia", "Mexico", "Japan", "Portugal",
        "Brazil", "Poland", "South Africa",
    ),
    "variant": (
        "a larger size", "a smaller size", "the blue one", "a different colour",
        "the black version", "the next model up",
    ),
    "name": (
        "Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines",
        "Jonas", "Kemi", "Liam", "Maria", "Noah", "Olga", "Pedro", "Quinn", "Rosa",
        "Sam", "Tara", "Uma", "Victor", "Wen", "Yusuf", "Zoe",
    ),
    "job": (
        "customer service agent", "warehouse associate", "software engineer",
        "marketing intern", "data analyst", "graphic designer", "delivery driver",
    ),
    "company": ("BrightLeads", "GrowthPilot", "Nova Digital", "ClickRise", "Peak Media"),
    "outlet": (
        "The Daily Ledger", "TechWeekly", "a local radio station", "a business podcast",
        "City News",
    ),
    "city": (
        "Berlin", "Chicago", "Lisbon", "Toronto", "Manchester", "Madrid", "Osaka",
        "Melbourne", "Dublin", "Denver",
    ),
    "prize": ("free iPhone", "$1000 gift card", "luxury cruise", "new car"),
    "unsold": ("concert tickets", "cars", "insurance", "plane tickets", "medicine"),
    "seconds": ("20", "30", "45", "60", "90"),
    "percent": ("10", "35", "50", "80", "99"),
    "dish": (
        "lasagne", "banana bread", "pad thai", "risotto", "pancakes", "apple pie",
        "chicken curry", "sourdough bread", "tomato soup", "brownies",
    ),
    "ingredient": (
        "rice", "eggs", "spinach", "chickpeas", "potatoes", "tofu", "mushrooms",
        "lentils", "carrots", "cheese",
    ),
    "month": ("January", "April", "July", "October", "December"),
    "nation": ("Peru", "Kenya", "Finland", "Vietnam", "Chile", "Egypt", "Austria"),
    "creature": ("spider", "octopus", "beetle", "crab", "centipede", "penguin"),
    "book": ("Pride and Prejudice", "Moby Dick", "War and Peace", "Don Quixote", "Hamlet"),
    "theme": ("the sea", "autumn", "my cat", "the moon", "friendship", "coffee", "rain"),
    "relative": ("mum", "dad", "grandma", "sister", "best friend", "uncle"),
    "phrase": ("good morning", "where is the station", "thank you very much", "I am lost"),
    "language": ("Spanish", "German", "Italian", "Japanese", "Dutch", "Swedish"),
    "foreign": ("carpe diem", "c'est la vie", "hasta luego", "danke schoen", "arigato"),
    "symptom": ("a headache", "a sore throat", "back pain", "a cough", "dizziness"),
    "favourite": ("colour", "movie", "book", "food", "song"),
}
