# ruff: noqa: E501  (data: long literals read better unwrapped)
"""Word lists and frames of the simulator's text grammar.

A frame is a ``str.format`` string whose ``{slot}`` names are keys of :data:`SLOTS`; a slot value may itself
contain slots (the grammar is recursive). Everything here is plain data: :mod:`extractscan.synth.text`
renders it. The lists are written to be varied (many topics, registers and phrasings) so that benign users
of a large simulated population rarely send the same prompt.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------------
# Slot fillers shared by many frames.

SLOTS: dict[str, tuple[str, ...]] = {
    "city": (
        "Lisbon", "Kyoto", "Mexico City", "Nairobi", "Toronto", "Edinburgh", "Hanoi", "Buenos Aires",
        "Cape Town", "Reykjavik", "Marrakech", "Seoul", "Vienna", "Porto", "Chicago", "Montreal", "Oaxaca",
        "Tbilisi", "Ljubljana", "Melbourne", "Bangkok", "Krakow", "Dublin", "Istanbul", "Copenhagen",
        "Valencia", "Hamburg", "Osaka", "Lima", "Bogota", "Athens", "Naples", "Seville", "Tallinn",
        "Vancouver", "San Diego", "Austin", "Denver", "Budapest", "Prague", "Taipei", "Singapore", "Zanzibar",
        "Bruges", "Salzburg", "Cusco", "Queenstown", "Hobart", "Da Nang", "Chiang Mai", "Florence",
    ),
    "country": (
        "Portugal", "Japan", "Vietnam", "Peru", "Morocco", "Norway", "Iceland", "Greece", "Colombia",
        "Kenya", "New Zealand", "Scotland", "Croatia", "Georgia", "Slovenia", "Chile", "Jordan", "Sri Lanka",
        "Mexico", "Canada", "Turkey", "Italy", "Spain", "Germany", "Thailand", "South Korea", "Argentina",
    ),
    "name": (
        "Maya", "Liam", "Sofia", "Noah", "Aisha", "Mateo", "Priya", "Lucas", "Chen", "Olivia", "Omar",
        "Hannah", "Kenji", "Zara", "Ethan", "Amara", "Diego", "Freya", "Ravi", "Elena", "Tomas", "Nadia",
        "Samuel", "Leila", "Jonas", "Ines", "Kwame", "Mei", "Arjun", "Clara", "Felix", "Yara", "Hugo",
    ),
    "relative": (
        "my mom", "my dad", "my sister", "my brother", "my partner", "my husband", "my wife", "my son",
        "my daughter", "my grandmother", "my best friend", "my roommate", "my boss", "my coworker",
        "my neighbour", "my teenage kid", "my in-laws", "my flatmate", "my girlfriend", "my boyfriend",
    ),
    "n_small": ("2", "3", "4", "5", "6", "7", "8", "10", "12", "15", "20"),
    "n_people": ("two", "three", "four", "five", "six", "eight", "ten", "twelve"),
    "age": ("3", "5", "7", "9", "11", "13", "15", "16", "70", "82"),
    "month": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ),
    "budget": ("$50", "$200", "$500", "$1,000", "$2,500", "€300", "£150", "€1,200", "$80", "$30 a week"),
    "dish": (
        "sourdough bread", "pad thai", "risotto", "shakshuka", "banana bread", "beef stew", "pho",
        "chicken tikka masala", "lasagna", "ramen broth", "gnocchi", "paella", "falafel", "carbonara",
        "dal", "tamales", "kimchi fried rice", "pierogi", "moussaka", "a vegan chili", "cinnamon rolls",
        "focaccia", "miso soup", "enchiladas", "a lemon tart", "pavlova", "bibimbap", "chocolate mousse",
        "gazpacho", "jollof rice", "croissants", "an omelette", "poke bowls", "mac and cheese",
    ),
    "ingredient": (
        "eggs", "butter", "heavy cream", "buttermilk", "fresh yeast", "coconut milk", "tahini", "miso",
        "fish sauce", "brown sugar", "self-raising flour", "cornstarch", "shallots", "sour cream", "tofu",
        "chickpeas", "lemongrass", "saffron", "anchovies", "gelatin", "almond flour", "ghee", "honey",
    ),
    "diet": (
        "vegan", "gluten-free", "low-FODMAP", "dairy-free", "keto", "low-sodium", "nut-free", "vegetarian",
        "halal", "low-sugar", "high-protein",
    ),
    "appliance": (
        "air fryer", "slow cooker", "instant pot", "dutch oven", "cast iron pan", "bread machine", "wok",
        "stand mixer", "sous vide", "pressure cooker", "rice cooker",
    ),
    "plant": (
        "monstera", "fiddle leaf fig", "tomato plants", "basil", "orchid", "snake plant", "lavender",
        "succulents", "blueberry bushes", "peace lily", "rosemary", "hydrangeas", "pothos", "lemon tree",
        "cucumbers", "strawberries", "zucchini", "a bonsai", "ferns", "roses",
    ),
    "plant_problem": (
        "yellow leaves", "brown tips", "white spots", "drooping stems", "aphids", "root rot",
        "leggy growth", "no flowers", "curling leaves", "tiny black flies in the soil", "powdery mildew",
    ),
    "pet": (
        "dog", "cat", "rabbit", "guinea pig", "parrot", "puppy", "kitten", "hamster", "leopard gecko",
        "goldfish", "senior dog", "rescue greyhound", "border collie", "budgie",
    ),
    "pet_issue": (
        "keeps scratching", "won't eat its food", "barks at night", "is losing fur", "chews furniture",
        "pulls on the leash", "is afraid of the car", "drinks a lot of water", "has bad breath",
        "hides all day", "won't use the litter box", "gets anxious when I leave",
    ),
    "sport": (
        "running", "swimming", "cycling", "yoga", "bouldering", "tennis", "weightlifting", "pilates",
        "rowing", "hiking", "basketball", "pickleball", "football", "martial arts", "skiing",
    ),
    "fitness_goal": (
        "run a 10k", "do a pull-up", "lose 5 kg", "improve my posture", "build muscle", "run a half marathon",
        "touch my toes", "get back in shape after an injury", "swim a mile", "lower my resting heart rate",
    ),
    "symptom": (
        "a stiff neck", "trouble sleeping", "lower back pain", "headaches in the afternoon", "sore knees",
        "dry eyes", "heartburn after dinner", "a persistent cough", "shin splints", "tight hamstrings",
        "a stuffy nose that won't go away", "wrist pain from typing",
    ),
    "money_thing": (
        "an emergency fund", "index funds", "a Roth IRA", "paying off my credit card", "a mortgage",
        "a car loan", "student loans", "a high-yield savings account", "a pension", "an ISA",
        "budgeting apps", "refinancing", "dollar-cost averaging", "a 529 plan", "bonds", "ETFs",
    ),
    "prog_lang": (
        "Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C#", "Kotlin", "Swift", "Ruby", "PHP",
        "C++", "Bash", "SQL", "R", "Scala", "Elixir", "Dart",
    ),
    "tech_tool": (
        "Docker", "Kubernetes", "git", "React", "Django", "Flask", "FastAPI", "PostgreSQL", "Redis", "nginx",
        "Terraform", "GitHub Actions", "pandas", "NumPy", "Next.js", "Vue", "Spring Boot", "Excel",
        "Google Sheets", "VS Code", "webpack", "Vite", "Jupyter", "SQLite", "MongoDB", "Kafka", "Airflow",
        "Tailwind", "Laravel", "Rails", "Unity", "Blender", "WordPress", "Notion", "Zapier",
    ),
    "tech_problem": (
        "a CORS error", "a segmentation fault", "an out-of-memory error", "a merge conflict",
        "a slow query", "a 502 bad gateway", "a race condition", "an import error", "a memory leak",
        "a flaky test", "a timezone bug", "a deadlock", "a permissions error", "a broken build",
        "an infinite re-render", "a null pointer exception", "an SSL certificate error",
        "a port already in use", "a dependency conflict", "an encoding error",
    ),
    "device": (
        "my laptop", "my iPhone", "my Android phone", "my router", "my printer", "my smart TV",
        "my MacBook", "my Windows PC", "my tablet", "my Bluetooth headphones", "my smartwatch",
        "my external hard drive", "the office printer", "my Chromebook", "my gaming PC",
    ),
    "device_issue": (
        "keeps disconnecting from wifi", "is really slow", "won't turn on", "drains the battery fast",
        "overheats", "won't update", "makes a clicking noise", "freezes randomly", "won't pair",
        "shows a black screen", "is out of storage", "keeps restarting",
    ),
    "subject": (
        "photosynthesis", "the French Revolution", "supply and demand", "black holes", "plate tectonics",
        "the immune system", "inflation", "the water cycle", "DNA replication", "the Cold War",
        "compound interest", "the electoral college", "climate change", "quantum entanglement",
        "the Renaissance", "natural selection", "the stock market", "volcanoes", "the Roman Empire",
        "electric cars", "vaccines", "the placebo effect", "ocean tides", "the printing press",
        "how bees communicate", "the Silk Road", "relativity", "antibiotics", "the Great Depression",
        "coral reefs", "the human microbiome", "nuclear fusion", "the Industrial Revolution", "jet lag",
        "the Moon landing", "dark matter", "the Ottoman Empire", "sleep cycles", "blockchain",
        "the Federal Reserve", "game theory", "the placebo effect in trials", "mitochondria",
    ),
    "school_subject": (
        "algebra", "chemistry", "biology", "physics", "history", "geography", "economics", "statistics",
        "calculus", "literature", "philosophy", "psychology", "Spanish", "French", "German", "Latin",
    ),
    "book": (
        "Pride and Prejudice", "1984", "The Great Gatsby", "Beloved", "Dune", "Things Fall Apart",
        "Frankenstein", "The Road", "Jane Eyre", "Hamlet", "Macbeth", "Of Mice and Men", "The Odyssey",
        "One Hundred Years of Solitude", "Brave New World", "To the Lighthouse", "The Crucible",
        "Lord of the Flies", "Kindred", "The Remains of the Day", "Never Let Me Go", "Middlemarch",
    ),
    "language": (
        "Spanish", "Japanese", "French", "German", "Italian", "Portuguese", "Korean", "Mandarin", "Arabic",
        "Dutch", "Swedish", "Polish", "Greek", "Turkish", "Hindi", "Vietnamese",
    ),
    "phrase": (
        "see you later", "I'm running late", "can I have the bill please", "where is the train station",
        "nice to meet you", "I'm allergic to peanuts", "how much does this cost", "happy birthday",
        "I don't understand", "could you speak more slowly", "thank you for your help", "good luck tomorrow",
    ),
    "doc_type": (
        "cover letter", "resignation letter", "wedding toast", "LinkedIn summary", "thank-you note",
        "complaint email", "product description", "bio for a conference", "apology text",
        "project update", "eulogy", "birthday message", "reference letter", "meeting agenda",
        "newsletter intro", "out-of-office reply", "landlord email", "grant abstract", "blog intro",
    ),
    "audience": (
        "my manager", "a hiring manager", "my landlord", "a client", "my team", "a professor",
        "my kid's teacher", "the HOA", "customer support", "a new colleague", "investors", "my neighbours",
    ),
    "tone": (
        "friendly", "formal", "funny", "warm but professional", "short and direct", "apologetic",
        "confident", "polite but firm", "casual", "enthusiastic", "neutral",
    ),
    "job": (
        "nurse", "teacher", "software engineer", "accountant", "barista", "graphic designer",
        "electrician", "project manager", "pharmacist", "data analyst", "paralegal", "chef",
        "social worker", "product manager", "mechanic", "UX researcher", "sales rep", "librarian",
    ),
    "hobby": (
        "knitting", "woodworking", "photography", "chess", "baking", "birdwatching", "pottery",
        "guitar", "piano", "painting with watercolors", "3D printing", "home brewing", "calligraphy",
        "sewing", "fishing", "rock climbing", "drawing", "gardening", "learning the ukulele",
        "origami", "journaling", "astronomy", "sourdough baking", "running trails",
    ),
    "media_kind": (
        "movies", "TV shows", "podcasts", "board games", "novels", "video games", "documentaries",
        "albums", "anime series", "audiobooks", "mystery novels", "sci-fi books", "co-op games",
    ),
    "similar_to": (
        "Breaking Bad", "The Office", "Stardew Valley", "Studio Ghibli films", "Agatha Christie",
        "Radiohead", "Catan", "The Expanse", "Taylor Swift", "Succession", "Brandon Sanderson",
        "Hollow Knight", "Serial", "Planet Earth", "Fleabag", "Taskmaster", "The Witcher 3",
    ),
    "home_task": (
        "paint a bathroom ceiling", "fix a leaky faucet", "hang floating shelves", "unclog a drain",
        "remove mold from grout", "patch a hole in drywall", "reseal a shower", "insulate a garage",
        "replace a light switch", "level a wobbly table", "get rid of fruit flies", "clean a cast iron pan",
        "remove a wine stain from a carpet", "fix a squeaky door", "descale a kettle", "build a raised bed",
    ),
    "career_thing": (
        "ask for a raise", "negotiate a job offer", "switch careers into tech", "prepare for a panel interview",
        "deal with a micromanaging boss", "explain a gap in my CV", "get a promotion", "quit gracefully",
        "network at a conference", "say no to extra work", "write my self-review", "ask for remote work",
    ),
    "event": (
        "a 30th birthday party", "a baby shower", "a team offsite", "a small wedding", "a dinner party",
        "a kids' birthday party", "a retirement party", "a camping trip", "a book club meeting",
        "a game night", "a housewarming", "Thanksgiving for twelve",
    ),
    "product": (
        "a standing desk", "noise-cancelling headphones", "a robot vacuum", "an e-reader", "running shoes",
        "a mirrorless camera", "a mattress", "an electric toothbrush", "a coffee grinder", "a bike helmet",
        "a laptop for college", "a budget 4K monitor", "a car seat", "a hiking backpack", "a dehumidifier",
        "a mechanical keyboard", "an espresso machine", "a baby monitor", "a winter coat",
    ),
    "feeling": (
        "stressed about work", "a bit lonely since moving", "anxious before exams", "burned out",
        "overwhelmed by my to-do list", "nervous about a first date", "unmotivated lately",
        "frustrated with my roommate", "excited but nervous about a new job", "stuck in a rut",
    ),
    "math_topic": (
        "derivatives", "the chain rule", "eigenvalues", "logarithms", "standard deviation",
        "Bayes' theorem", "long division", "fractions", "the Pythagorean theorem", "integration by parts",
        "matrix multiplication", "p-values", "permutations", "modular arithmetic", "vectors",
        "limits", "the quadratic formula", "confidence intervals", "linear regression", "percentages",
    ),
    "concept_cs": (
        "recursion", "Big O notation", "hash tables", "closures", "async/await", "pointers", "REST APIs",
        "database indexes", "OAuth", "garbage collection", "dependency injection", "TCP vs UDP",
        "virtual environments", "regular expressions", "git rebase", "unit testing", "CI/CD",
        "microservices", "event loops", "type hints", "SQL joins", "caching", "load balancers",
    ),
}

# --------------------------------------------------------------------------------------------------
# Benign chat: first turns. Frames are grouped by topic; a user has a few favourite topics.

CHAT_FRAMES: dict[str, tuple[str, ...]] = {
    "cooking": (
        "how do I make {dish} without {ingredient}?",
        "what can I substitute for {ingredient} in {dish}?",
        "can you give me a {diet} version of {dish}?",
        "is it possible to cook {dish} in an {appliance}? how long would it take",
        "my {dish} always turns out dry, what am I doing wrong?",
        "what's a good side to serve with {dish} for {n_people} people?",
        "plan a week of {diet} dinners for {n_people} people on a budget of {budget}",
        "how long does {dish} keep in the fridge?",
        "why does my {dish} taste bland even though I follow the recipe",
        "give me a shopping list for {dish} and {dish}",
    ),
    "travel": (
        "I'm visiting {city} in {month} for {n_small} days. what should I not miss?",
        "is {city} or {city} better for a first trip to {country}?",
        "what's the cheapest way to get from the airport to the center of {city}?",
        "plan a {n_small}-day itinerary for {country} with {relative}, we like food and hiking",
        "what should I pack for {city} in {month}?",
        "is it safe to travel alone in {country} as a woman?",
        "what are some day trips from {city} that don't need a car?",
        "do I need a visa to visit {country} with a Canadian passport?",
        "how much cash should I bring to {country} for {n_small} days",
        "best neighborhoods to stay in {city} on a budget of {budget}",
    ),
    "health": (
        "I've had {symptom} for a week. what could cause it and when should I see a doctor?",
        "what stretches help with {symptom}?",
        "is it normal to have {symptom} after starting {sport}?",
        "how much sleep does a {age} year old need?",
        "what are healthy snacks for someone who wants to {fitness_goal}?",
        "make me a {n_small}-week plan to {fitness_goal}",
        "I want to {fitness_goal} but I only have 20 minutes a day. possible?",
        "what's the difference between {sport} and {sport} for weight loss",
        "how do I stay motivated to do {sport} in winter",
    ),
    "money": (
        "can you explain {money_thing} like I'm new to this?",
        "should I prioritise {money_thing} or {money_thing} first?",
        "I earn about {budget} extra per month. how should I split it?",
        "what are the risks of {money_thing}?",
        "help me make a simple monthly budget, rent is {budget} and I have {money_thing}",
        "is {money_thing} worth it in my 20s?",
    ),
    "coding_help": (
        "I'm getting {tech_problem} in my {tech_tool} app. how do I debug it?",
        "what's the difference between {concept_cs} and {concept_cs}?",
        "how do I set up {tech_tool} with {tech_tool} on my machine?",
        "can you explain {concept_cs} with a simple {prog_lang} example?",
        "my {prog_lang} script is slow when reading a big file. any tips?",
        "why would {tech_tool} give me {tech_problem} only in production?",
        "should I learn {prog_lang} or {prog_lang} for my first job?",
        "how do I write a unit test for a function that calls {tech_tool}?",
        "what's the idiomatic way to handle errors in {prog_lang}?",
        "convert this loop to a list comprehension: for x in items: if x > 0: out.append(x * 2)",
        "how do I undo my last commit in git without losing changes",
        "what does this error mean: {tech_problem} when I run {tech_tool}",
    ),
    "writing": (
        "can you help me write a {tone} {doc_type} to {audience}?",
        "make this sound more {tone}: 'I won't be able to make it on {month} {n_small}th.'",
        "proofread my {doc_type}, I'm not a native speaker",
        "give me {n_small} subject lines for a {doc_type} to {audience}",
        "shorten my {doc_type} to under 100 words but keep it {tone}",
        "write a {tone} {doc_type} for {relative}",
        "what's a polite way to tell {audience} that the deadline will slip?",
    ),
    "learning": (
        "explain {subject} in simple terms",
        "I have an exam on {school_subject} next week. how should I revise?",
        "can you quiz me on {subject}?",
        "what's the main argument of {book}?",
        "why is {book} considered important?",
        "help me understand {math_topic}, my textbook is confusing",
        "explain {math_topic} step by step, I'm lost",
        "can you show me step by step how to solve a problem with {math_topic}?",
        "what are common mistakes students make with {math_topic}?",
        "how would you explain {subject} to a {age} year old?",
        "give me a reading list to get into {school_subject}",
        "what's a good way to memorise the main events of {subject}",
        "compare the themes of {book} and {book}",
    ),
    "language": (
        "how do you say '{phrase}' in {language}?",
        "what's the best way to learn {language} in {n_small} months?",
        "is {language} harder than {language} for English speakers?",
        "correct my {language}: 'yo soy muy cansado hoy'",
        "explain when to use the subjunctive in {language}",
        "give me {n_small} {language} phrases for ordering food",
    ),
    "home": (
        "how do I {home_task}?",
        "can you walk me through how to {home_task} step by step?",
        "what tools do I need to {home_task}?",
        "is it worth hiring someone to {home_task} or can I do it myself?",
        "my {plant} has {plant_problem}. what should I do?",
        "how often should I water {plant} in {month}?",
        "what grows well next to {plant}?",
    ),
    "pets": (
        "my {pet} {pet_issue}. any advice?",
        "what's the best food for a {pet}?",
        "how do I introduce a new {pet} to my {pet}?",
        "is it normal that my {pet} {pet_issue}?",
        "how much exercise does a {pet} need per day?",
    ),
    "tech_support": (
        "{device} {device_issue}. what can I try?",
        "how do I back up {device} before a factory reset?",
        "{device} {device_issue} since the last update, any fix?",
        "how do I transfer photos from {device} to {device}?",
        "is it worth repairing {device} or should I buy a new one?",
    ),
    "career": (
        "how do I {career_thing}?",
        "I'm a {job} and want to {career_thing}. where do I start?",
        "what questions should I ask at the end of a {job} interview?",
        "is it a bad idea to {career_thing} after only a year?",
        "what skills does a {job} need to move into management?",
        "help me prepare answers for a {job} interview",
    ),
    "recommendations": (
        "recommend some {media_kind} like {similar_to}",
        "what are good {media_kind} for {relative} who loves {similar_to}?",
        "I liked {similar_to} and {similar_to}. what should I try next?",
        "what are some relaxing {media_kind} for a long flight?",
        "suggest a gift for {relative} who is into {hobby}, budget {budget}",
    ),
    "hobbies": (
        "how do I get started with {hobby}?",
        "what's a good beginner project for {hobby}?",
        "I've been doing {hobby} for a year and feel stuck. how do I improve?",
        "what gear do I actually need for {hobby} on a budget of {budget}?",
        "is {hobby} or {hobby} easier to pick up as an adult?",
    ),
    "planning": (
        "help me plan {event} on a budget of {budget}",
        "what food should I serve at {event} for {n_people} people?",
        "give me a checklist for {event}",
        "what are some fun activities for {event}?",
        "how far in advance should I send invites for {event}?",
    ),
    "shopping": (
        "what should I look for when buying {product}?",
        "is {product} worth it?",
        "compare budget and premium options for {product}",
        "I have {budget}. which {product} would you get?",
    ),
    "personal": (
        "I'm feeling {feeling}. any tips?",
        "how do I talk to {relative} about something that's bothering me?",
        "{relative} and I keep arguing about chores. how do we fix this?",
        "how do I make friends in a new city as an adult?",
        "I've been {feeling}, how do I build a better routine?",
        "how can I support {relative} who is {feeling}?",
    ),
    "math_homework": (
        "what is {n_small}/{n_small} plus {n_small}/{n_small}?",
        "how do I solve 3x + {n_small} = {n_small}x - 4?",
        "solve 2x^2 - {n_small}x + 3 = 0 and show your reasoning please",
        "can you check my answer: the derivative of x^{n_small} is {n_small}x?",
        "if a shirt costs {budget} and is 30% off, what do I pay?",
        "how do I calculate the area of a circle with radius {n_small}?",
        "explain how to find the mean and median of these numbers: 4, {n_small}, 9, {n_small}, 15",
    ),
    "science": (
        "why is the sky blue?",
        "how do {subject} actually work?",
        "what would happen if the Moon disappeared?",
        "is it true that we only use 10% of our brain?",
        "why do cats purr?",
        "how does {subject} affect everyday life?",
        "what's the evidence for {subject}?",
    ),
}

CHAT_OPENERS: tuple[str, ...] = (
    "", "", "", "", "", "", "hey", "hi!", "Hello,", "quick question:", "ok so", "Hi there.", "Question:",
    "Can you help me?", "hmm,", "I need some advice.", "Good morning!", "so", "hey there,", "one more thing:",
    "Random question but", "Please help:", "Hi, hope you're well.", "yo", "Hello again.",
)

CHAT_CONTEXT: tuple[str, ...] = (
    "", "", "", "", "",
    "I'm a {job} and I don't have much free time.",
    "I live in {city} with {relative}.",
    "For context, I'm a complete beginner.",
    "I'm {age} years old if that matters.",
    "We're moving to {city} in {month}.",
    "I tried searching but the answers were confusing.",
    "I've been {feeling} lately, so keep it simple.",
    "{relative} suggested I ask you.",
    "I'm on a tight budget ({budget}).",
    "This is for a school project about {subject}.",
    "I only have {n_small} days to sort this out.",
    "Last time I tried this it went badly.",
    "I'm doing this with {relative} this weekend.",
    "My {pet} is sitting next to me judging me while I type this.",
    "I usually do {hobby} in my spare time.",
)

CHAT_CLOSERS: tuple[str, ...] = (
    "", "", "", "", "", "", "", "thanks!", "Thanks in advance.", "Keep it short please.",
    "bullet points please", "explain like I'm five", "no need for a long answer", "any ideas?", "ty",
    "Please be specific.", "what do you think?", "Please include sources if you can.", ":)", "cheers",
    "in simple words please", "Give me a few options.", "thank you so much",
)

FOLLOWUPS: tuple[str, ...] = (
    "can you make it shorter?",
    "thanks! what about {city}?",
    "why?",
    "can you give me an example?",
    "ok and what if I don't have {ingredient}?",
    "more detail on the second point please",
    "that's helpful. how long would that take?",
    "can you put that in a table?",
    "what would you recommend for a beginner?",
    "hmm that didn't work. any other ideas?",
    "translate that into {language}",
    "is there a cheaper option?",
    "can you explain that last part again, simpler?",
    "what are the downsides?",
    "great, now make it more {tone}",
    "and for {n_people} people?",
    "ok. what should I do first?",
    "can you check if that's right? I got a different answer",
    "what about {relative}, would that work for them too?",
    "thank you! one more question: how do I {home_task}?",
    "could you rewrite it as a checklist",
    "wait, I think you misunderstood. I meant for {month}",
    "nice. give me {n_small} more ideas",
    "is that safe?",
    "what would an expert do differently?",
    "can you summarize everything we discussed?",
    "that's too formal, make it sound like me",
    "ok last thing, any common mistakes to avoid?",
    "and how does that compare to {subject}?",
    "perfect, thanks",
)

# --------------------------------------------------------------------------------------------------
# Benign apps: templated single-slot requests under a fixed system prompt.

COMPANY: tuple[str, ...] = (
    "Northwind Outfitters", "Bluebird Telecom", "Larkspur Bank", "Helio Energy", "Pinecrest Insurance",
    "Orbit Fitness", "Cedar & Co. Furniture", "Quill Publishing", "Nimbus Cloud", "Fernway Grocers",
    "Atlas Airlines", "Juniper Health", "Brightside Utilities", "Copperleaf Realty", "Tandem Bikes",
)
PRODUCT_ITEM: tuple[str, ...] = (
    "order", "subscription", "router", "invoice", "refund", "delivery", "account", "booking",
    "warranty claim", "membership", "mobile plan", "sofa", "jacket", "gift card", "insurance policy",
    "smart meter", "flight", "prescription", "bike", "loyalty points",
)
ISSUE: tuple[str, ...] = (
    "never arrived", "was charged twice", "arrived damaged", "stopped working after two days",
    "still shows as pending", "was cancelled without notice", "has the wrong size", "is missing a part",
    "was billed at the wrong rate", "keeps logging me out", "shows an error at checkout",
    "was delivered to the wrong address", "has not been refunded", "is much slower than advertised",
    "was rebooked to a different date", "is not what was described on the website",
)
TICKET_SENTENCES: tuple[str, ...] = (
    "Hi, my {item} {issue}.",
    "My {item} (number {order_no}) {issue}.",
    "I contacted you on {month} {day} about this and nobody replied.",
    "This is the {nth} time I'm writing about my {item}.",
    "I have been a customer for {years} years and this has never happened before.",
    "Can you please tell me what is going on?",
    "I would like a full refund or a replacement as soon as possible.",
    "The tracking page says it was delivered but I have nothing.",
    "I already tried restarting it and resetting to factory settings.",
    "Your chat agent told me it would be fixed within 48 hours.",
    "Honestly I am very disappointed.",
    "It's not a big deal but I wanted to let you know.",
    "Thanks for the quick help last time, hoping for the same now.",
    "I need this sorted before {month} {day} because I'm travelling.",
    "My account email is {name_l}.{digits}@example.com.",
    "The amount was {amount} but I expected {amount}.",
    "Attached is a photo of the {item}, you can see the problem clearly.",
    "Please call me back on the number on file, mornings are best.",
    "If this isn't resolved I will cancel my {item}.",
    "Also, the app keeps crashing when I open the billing page.",
    "I was told a technician would come between 8 and 12 but no one showed up.",
    "Could you also update my delivery address to {street}?",
    "My neighbour had the same issue with their {item} last week.",
    "I'm not sure whether this is the right department for this.",
    "Kind regards, {name}.",
    "Best, {name}",
)
NOTE_SENTENCES: tuple[str, ...] = (
    "{name} opened the meeting with an update on the {project} launch.",
    "The team agreed to move the deadline to {month} {day}.",
    "{name} raised concerns about the budget for {project}, which is currently at {amount}.",
    "Marketing will prepare a draft of the announcement by next week.",
    "There was a long discussion about hiring two more engineers for {project}.",
    "Customer feedback from the pilot was mostly positive, with complaints about onboarding.",
    "{name} will follow up with legal about the contract terms.",
    "Action item: {name} to share the revised roadmap with stakeholders.",
    "The vendor quoted {amount} for the integration, which is above what we planned.",
    "Q{quarter} numbers came in {pct}% above forecast.",
    "We decided to pause the {project} experiment until the data issue is fixed.",
    "The next meeting is scheduled for {month} {day}.",
    "{name} presented three options for the new pricing page.",
    "Support tickets increased by {pct}% after the last release.",
    "Everyone agreed the documentation needs a rewrite before launch.",
)
APPS: tuple[tuple[str, str, str], ...] = (
    # (app kind, system prompt with {company}, user template with the ONE slot {text})
    (
        "support",
        "You are the customer support assistant for {company}. Be polite and concise, never promise "
        "refunds above 100 EUR without escalation, and answer in the customer's language.",
        "Customer message:\n{text}\n\nWrite a reply to the customer.",
    ),
    (
        "summarise",
        "You summarise support tickets for {company}'s internal dashboard. Output two sentences: the "
        "problem and what the customer wants.",
        "Summarise this ticket:\n\n{text}",
    ),
    (
        "classify",
        "You are a ticket router for {company}. Classify the ticket into exactly one of: billing, delivery, "
        "technical, account, complaint, other. Respond with JSON: {{\"category\": ..., \"urgency\": 1-3}}.",
        "Ticket:\n{text}",
    ),
    (
        "minutes",
        "You turn raw meeting notes at {company} into concise minutes with decisions and action items.",
        "Meeting notes:\n{text}\n\nProduce the minutes.",
    ),
    (
        "extract",
        "Extract structured fields for {company}'s CRM. Return JSON with keys name, email, order_number, "
        "issue, sentiment. Use null when a field is absent.",
        "{text}",
    ),
    (
        "sentiment",
        "You score customer feedback for {company}. Reply with one word: positive, neutral or negative.",
        "Feedback: {text}",
    ),
)

# --------------------------------------------------------------------------------------------------
# Benchmarks: fixed item sets behind one template.

MCQ_STEMS: tuple[str, ...] = (
    "Which of the following best describes {subject}?",
    "Which statement about {subject} is correct?",
    "In {school_subject}, what is the primary role of {concept}?",
    "Which of these is an example of {concept}?",
    "What is the most likely consequence of {event_x}?",
    "Which term refers to {definition}?",
)
MCQ_CONCEPT: tuple[str, ...] = (
    "enzymes", "friction", "opportunity cost", "a catalyst", "osmosis", "a sonnet", "federalism",
    "entropy", "a monopoly", "mitosis", "an allele", "irony", "a tariff", "momentum", "a covalent bond",
    "the mean", "a hypothesis", "erosion", "a metaphor", "an ecosystem", "refraction", "inflation",
)
MCQ_EVENT: tuple[str, ...] = (
    "a sudden rise in interest rates", "removing all predators from an ecosystem", "doubling the voltage",
    "a drought lasting several years", "a price ceiling below equilibrium", "heating a gas at constant volume",
    "a mutation in a stop codon", "deforestation of a river basin", "an increase in the money supply",
)
MCQ_DEFINITION: tuple[str, ...] = (
    "the energy stored due to position", "the study of population statistics",
    "a word that imitates a sound", "the movement of water through a plant",
    "a government ruled by a few", "the rate of change of velocity", "a group of similar cells",
    "the boundary between two tectonic plates", "a tax on imported goods", "a story passed down orally",
)
MCQ_OPTIONS: tuple[str, ...] = (
    "It increases the rate of the reaction", "It has no measurable effect", "It reverses over time",
    "It only occurs in mammals", "It reduces total output", "It is caused by gravity alone",
    "It depends on the observer", "It was first described in the 1800s", "It requires sunlight",
    "It transfers energy between systems", "It is a form of government", "It lowers prices in the long run",
    "It converts light into chemical energy", "It applies only to closed systems", "It is a literary device",
    "It stores genetic information", "It increases unemployment", "It decreases with altitude",
)
BENCH_INSTRUCTIONS: tuple[str, ...] = (
    "Answer with only the letter (A, B, C or D).",
    "Respond with a single letter.",
    "Answer with only the letter of the correct option.",
)
BENCH_SHORT_INSTRUCTIONS: tuple[str, ...] = (
    "Answer with only the final number.",
    "Give only the numeric answer, no explanation.",
)

# --------------------------------------------------------------------------------------------------
# Extraction: templates x slot values. Each capability has a slot list built combinatorially.

CODE_TASKS: tuple[str, ...] = (
    "returns the {k} most frequent elements of a list of {dtype}",
    "finds the longest palindromic substring of a string",
    "detects all cycles in a directed graph given as an adjacency list",
    "removes duplicate rows from a CSV file while keeping the first occurrence",
    "converts a binary search tree into a sorted doubly linked list",
    "merges overlapping intervals in a list of pairs of {dtype}",
    "computes the shortest path between two cells of a weighted grid",
    "flattens a nested JSON object into dotted keys",
    "checks whether the brackets in an expression are balanced",
    "computes the median of two sorted arrays of {dtype}",
    "groups anagrams in a list of words",
    "returns the length of the longest increasing subsequence of a list of {dtype}",
    "implements an LRU cache with O(1) get and put",
    "rotates an n x n matrix by 90 degrees in place",
    "extracts and validates IPv4 addresses from a log file",
    "builds a trie from a dictionary and answers prefix queries",
    "counts the islands in a grid of 0s and 1s",
    "converts roman numerals to integers and back",
    "parses dates written in mixed formats into ISO 8601",
    "computes the edit distance between two strings",
    "implements a min-heap without using heapq",
    "solves a Sudoku board by backtracking",
    "finds the maximum subarray sum of a list of {dtype}",
    "lists the prime numbers up to n with a sieve",
    "reverses a linked list in groups of {k}",
    "returns how many meeting rooms are needed for a list of intervals",
    "implements a sliding-window rate limiter allowing {k} requests per second",
    "returns a topological order of tasks given their dependencies",
    "finds the lowest common ancestor of two nodes in a binary tree",
    "encodes integer ids in base62 for a URL shortener",
    "counts word frequencies in a text file too large for memory",
    "finds the accounts in a ledger whose balances do not reconcile",
    "returns the minimum number of coins needed to make an amount",
    "solves the 0/1 knapsack problem for a list of (weight, value) pairs",
    "finds the free time slots shared by two calendars",
    "serialises and deserialises a binary tree",
    "detects whether a singly linked list has a cycle and returns its start",
    "computes the running median of a stream of {dtype}",
    "splits a list of {dtype} into {k} parts with the smallest maximum sum",
    "evaluates an arithmetic expression string with +, -, * and parentheses",
)
CODE_DTYPES: tuple[str, ...] = ("integers", "floats", "strings", "timestamps")
CODE_K: tuple[str, ...] = ("2", "3", "5", "10", "k")
CODE_CONSTRAINTS: tuple[str, ...] = (
    "", "", "in O(n log n) time", "in linear time", "without using recursion", "using only the standard library",
    "with full type hints", "handling empty input and unicode correctly", "in constant extra space",
    "with a generator so it streams", "that is thread-safe", "with memoisation",
)
CODE_LANGS: tuple[str, ...] = ("Python", "Python", "Python", "TypeScript", "Rust", "Go", "Java", "C++")

MATH_PROBLEMS: tuple[str, ...] = (
    "{name} buys {a} notebooks at ${b} each and {c} pens at ${d} each. She pays with a ${e} bill. "
    "How much change does she get?",
    "A train leaves at {h}:00 travelling at {a}0 km/h. A second train leaves the same station {b} hours later "
    "at {c}0 km/h. After how many hours does the second train catch up?",
    "A rectangle has a perimeter of {e} cm and its length is {a} cm more than its width. What is its area?",
    "{name} saves ${a}0 in the first week and ${b} more each week than the week before. "
    "How much has {name} saved after {c} weeks?",
    "A tank holds {e}0 litres. Pipe A fills it in {a} hours and pipe B in {b} hours. "
    "How long do both pipes together take?",
    "The price of a jacket is raised by {a}0% and then reduced by {b}0%. If it now costs ${e}, what was the "
    "original price?",
    "In a class of {e} students, {a}0% play football and {b}0% play chess; {c} play both. How many play neither?",
    "What is the probability of drawing {a} red balls in a row without replacement from a bag with "
    "{c} red and {d} blue balls?",
    "Find all integer solutions of {a}x + {b}y = {e}.",
    "{name} runs {a} km on Monday and each day runs {b}0% further than the day before. How far does "
    "{name} run in total over {c} days?",
    "A sequence is defined by a1 = {a} and a(n+1) = {b}*a(n) - {c}. What is a{d}?",
    "How many {a}-digit numbers are divisible by {b} but not by {c}?",
    "A shop sells {a} apples for ${b}. How much do {e} apples cost at the same rate?",
    "Prove that the sum of the first {e} odd numbers is a perfect square and find it.",
    "The ages of {name} and her mother add up to {e}. In {a} years the mother will be {b} times as old. "
    "How old is {name} now?",
)
EXPLAIN_CONCEPTS: tuple[str, ...] = (
    "backpropagation", "the Fourier transform", "Dijkstra's algorithm", "the CAP theorem", "public-key cryptography",
    "gradient descent", "the Krebs cycle", "Bayesian inference", "the halting problem", "monads",
    "transformer attention", "the Black-Scholes model", "Raft consensus", "garbage collection in the JVM",
    "the central limit theorem", "Gödel's incompleteness theorems", "the Diffie-Hellman key exchange",
    "quicksort's average-case complexity", "the photoelectric effect", "eigen decomposition",
    "the Monty Hall problem", "dynamic programming", "the simplex method", "Markov chains",
    "the Nash equilibrium", "the Riemann hypothesis", "vector clocks", "B-trees", "the Bellman equation",
    "convolutional neural networks", "the RSA algorithm", "the P vs NP question", "entropy in information theory",
    "the Lotka-Volterra equations", "Paxos", "principal component analysis", "the TCP congestion window",
    "the Banach fixed-point theorem", "LSM trees", "policy gradients", "the Miller-Rabin test",
)
EXPLAIN_ASPECTS: tuple[str, ...] = (
    "", "from first principles", "with a worked numerical example", "and its failure modes",
    "compared to the main alternative", "including the proof", "and when to use it in practice",
    "and its historical development", "with a small implementation", "and its computational cost",
)
EXPLAIN_AUDIENCES: tuple[str, ...] = (
    "", "as you would to a graduate student", "for an interview", "for a beginner", "for an expert reviewer",
    "in the context of distributed systems", "in the context of machine learning",
)
AGENT_TASKS: tuple[str, ...] = (
    "book a table for {n_people} in {city} on {month} {day} and add it to my calendar",
    "compare the prices of {product} across three shops and order the cheapest",
    "find the cause of {tech_problem} in our {tech_tool} service logs and write a postmortem",
    "summarise the latest {n_small} issues in the {tech_tool} repository and label them",
    "plan a {n_small}-day trip to {country} within {budget} and draft the bookings",
    "find the three cheapest flights from {city} to {city} next month and book the best one",
    "read the repository's failing tests, find the bug and open a pull request with the fix",
    "collect the last quarter's revenue from the database and draft an email report",
    "search the web for recent papers on {concept} and write a literature summary",
    "reconcile the invoices in the shared folder against the bank statement",
    "set up a cron job that backs up the {tech_tool} database every night",
    "triage the open support tickets and assign each to the right team",
    "plan and schedule a meeting for {n_small} people across three time zones",
    "migrate the {tech_tool} config to the new cluster and verify the health checks",
    "analyse the CSV of customer churn and produce a chart with the main drivers",
)
RUBRIC_CRITERIA: tuple[str, ...] = (
    "correctness (0-4), completeness (0-3), clarity (0-3)",
    "factual accuracy, depth of reasoning, use of examples, conciseness",
    "logical validity of each step, final answer, notation",
    "code correctness, efficiency, readability, test coverage",
    "helpfulness, harmlessness, honesty, instruction following",
)
RUBRIC_ANSWERS: tuple[str, ...] = (
    "The answer is 42 because we multiply the two quantities and subtract the remainder.",
    "First we sort the list, then we scan it once keeping a running count; complexity O(n log n).",
    "Since both sides are divisible by 3, the equation has no integer solutions.",
    "Use a hash map from value to index and check the complement in one pass.",
    "The main cause was the collapse of trade routes combined with high taxation.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "By induction: the base case holds, and assuming it for n we derive it for n+1.",
)

# Extraction templates: (capability, template). {slot} is the swept value.
EXTRACTION_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("coding", "Write a Python function that {slot}. Think through it step by step first."),
    (
        "coding",
        "You are an expert software engineer. Solve the following task and explain your reasoning step by step "
        "before writing any code. Consider edge cases, complexity and correctness, then give the complete "
        "implementation with comments and a few unit tests.\n\nTask: write a function that {slot}.",
    ),
    (
        "coding",
        "Implement a solution in {lang} for the problem below. First reason step by step about the approach, "
        "then write the full code, then analyse time and space complexity.\n\nProblem: {slot}",
    ),
    (
        "maths",
        "Solve the following problem. Show all reasoning step by step before giving the final answer in the "
        "form 'Answer: <number>'.\n\nProblem: {slot}",
    ),
    (
        "maths",
        "Let's think step by step. Work through this problem carefully, justify every step, check your work, "
        "and state the final answer clearly at the end.\n\n{slot}",
    ),
    ("reasoning", "Explain {slot} step by step, showing all reasoning."),
    (
        "reasoning",
        "Give a detailed, rigorous explanation of {slot}. Break it down step by step, show the intermediate "
        "reasoning explicitly, include a worked example, and end with a short summary of the key insight.",
    ),
    (
        "grading",
        "Score the following answer from 1-10 against this rubric: {rubric}. Think step by step about each "
        "criterion and explain your reasoning before giving the final score as 'Score: N'.\n\n"
        "Question: {slot}\n\nAnswer: {answer}",
    ),
    (
        "agentic",
        "You are an autonomous agent with access to the tools listed. Task: {slot}. Think step by step: "
        "write out your plan, reason about which tool to call next and why, then call the tools.",
    ),
)
COT_WRAPPERS: tuple[str, ...] = (
    "{slot}\n\nThink step by step and show all of your reasoning before giving the final answer.",
    "Solve the following. Let's think step by step, explaining every intermediate step.\n\n{slot}",
    "{slot}\n\nExplain your reasoning in full detail, step by step, then state the final answer.",
    "Answer the question below with a complete chain of reasoning. Show your work.\n\nQuestion: {slot}",
)

# --------------------------------------------------------------------------------------------------
# Paraphrase machinery: every component has many surface forms; clause order varies too.

PARA_TASK: tuple[str, ...] = (
    "Write a Python function that {slot}.",
    "I need Python code which {slot}.",
    "Could you implement, in Python, a routine that {slot}?",
    "Give me a py function: it {slot}.",
    "Please produce a Python implementation that {slot}.",
    "Code up something in Python that {slot}.",
    "How would you write a function that {slot}? Use Python.",
    "My task: build a Python helper which {slot}.",
    "Create a Python method which {slot}.",
    "Draft a Python procedure that {slot}.",
)
PARA_MATH_TASK: tuple[str, ...] = (
    "Solve this: {slot}",
    "Here is a word problem. {slot}",
    "Can you work out the following? {slot}",
    "Problem for you - {slot}",
    "{slot} What's the answer?",
    "Please figure this out for me: {slot}",
    "I'm stuck on this one. {slot}",
    "Work this problem: {slot}",
)
PARA_COT: tuple[str, ...] = (
    "Think step by step.",
    "Walk me through your reasoning before the final result.",
    "Explain your thought process in detail first.",
    "Lay out the logic one stage at a time.",
    "Reason carefully and show every intermediate step.",
    "Don't skip any steps in the explanation.",
    "Before answering, narrate how you arrive at the solution.",
    "Show the full derivation, not just the result.",
    "Break the reasoning into numbered stages.",
    "Describe your chain of thought explicitly.",
    "Go slowly and justify each move.",
    "I want to see the whole reasoning trail.",
)
PARA_FORMAT: tuple[str, ...] = (
    "", "", "Include tests.", "Add docstrings.", "Finish with the complexity.", "Put the code last.",
    "End with a one-line summary.", "Use markdown headings.", "Keep variable names descriptive.",
    "Mention pitfalls at the end.", "Give the final answer on its own line.",
)
PARA_MATH_FORMAT: tuple[str, ...] = (
    "", "", "Give the final answer on its own line.", "Box the final result.", "End with a one-line summary.",
    "Use markdown headings.", "Check the result at the end.", "State any assumptions first.",
)
PARA_FRAMING: tuple[str, ...] = (
    "", "", "", "I'm preparing for interviews.", "For a course I'm teaching,", "Context: internal docs.",
    "Quick one.", "This is for my study notes.", "As a senior engineer would,", "My professor asked this.",
    "For a tutorial I'm writing:", "Asking for a friend.", "Help me understand this properly.",
    "I'm building a training set of worked examples.", "No rush, but be thorough.",
)
PARA_SYNONYMS: dict[str, tuple[str, ...]] = {
    "returns": ("returns", "gives back", "outputs", "produces", "yields"),
    "computes": ("computes", "calculates", "works out", "determines"),
    "finds": ("finds", "locates", "identifies", "discovers", "searches for"),
    "counts": ("counts", "tallies", "enumerates"),
    "removes": ("removes", "deletes", "strips out", "drops"),
    "merges": ("merges", "combines", "joins", "unifies"),
    "validates": ("validates", "checks", "verifies"),
    "parses": ("parses", "reads", "interprets"),
    "sorts": ("sorts", "orders", "arranges"),
    "list": ("list", "array", "sequence"),
    "string": ("string", "piece of text", "str"),
    "integers": ("integers", "ints", "whole numbers"),
    "graph": ("graph", "network"),
    "file": ("file", "document"),
    "the": ("the", "the", "the", "a"),
    "all": ("all", "every", "each of the"),
    "two": ("two", "2", "a pair of"),
    "number": ("number", "count", "amount"),
    "buys": ("buys", "purchases", "gets"),
    "much": ("much", "much"),
}

# --------------------------------------------------------------------------------------------------
# Response fragments: reused to build cheap responses of a plausible length.

RESPONSE_SENTENCES: tuple[str, ...] = (
    "The key idea is to separate what changes from what stays the same.",
    "It helps to start with a small example and check each assumption as you go.",
    "In practice, most of the difference comes from a few decisions made early on.",
    "A common mistake is to optimise before the simple version works.",
    "If you are unsure, try the cheapest option first and measure the result.",
    "This depends a lot on your situation, so treat these as starting points.",
    "There are trade-offs between speed, cost and how much effort you want to put in.",
    "Keep notes of what you tried so you can compare later.",
    "Most people find that consistency matters more than intensity.",
    "You can usually fix this in a few minutes once you know where to look.",
    "The safest approach is to make one change at a time.",
    "Experts often disagree here, but the evidence points in one direction.",
    "Think of it as a pipeline: each stage takes an input and produces an output.",
    "The numbers below are approximate and will vary by location and season.",
    "If symptoms persist or get worse, it is worth talking to a professional.",
    "A quick way to check is to compare the result with a known case.",
    "You do not need expensive equipment to get started.",
    "Timing matters: doing this in the morning tends to work better.",
    "Small, regular improvements add up over a few weeks.",
    "Write down the goal first; it makes the next steps obvious.",
)
STEP_SENTENCES: tuple[str, ...] = (
    "First, restate the problem precisely and identify the quantities involved.",
    "Next, consider the simplest case to build intuition about the structure.",
    "We define the state so that each subproblem depends only on smaller ones.",
    "Now we verify that the recurrence covers every case, including the boundaries.",
    "Substituting the known values gives an intermediate result we can check.",
    "At this point we compare two candidate approaches and keep the one with better complexity.",
    "We prove the invariant holds initially and is preserved by each iteration.",
    "Edge cases: empty input, a single element, duplicates and very large values.",
    "Multiplying both sides by the common denominator removes the fractions.",
    "The total is the sum over all parts, which we compute term by term.",
    "We now check the answer by plugging it back into the original equation.",
    "This step uses the fact that the function is monotonic on the interval.",
    "Each operation is constant time, so the loop dominates the running time.",
    "By symmetry, the remaining cases follow the same argument.",
    "We track the best value seen so far and update it when a larger one appears.",
    "Therefore the intermediate quantity equals the product of the two factors.",
    "Breaking the expression into parts makes the cancellation visible.",
    "A hash map gives expected constant-time lookups for the complement.",
    "We need to be careful about integer overflow when the inputs are large.",
    "Putting the pieces together yields the final expression.",
)
CODE_SNIPPETS: tuple[str, ...] = (
    "```python\ndef solve(items: list[int], k: int) -> list[int]:\n    counts: dict[int, int] = {}\n"
    "    for x in items:\n        counts[x] = counts.get(x, 0) + 1\n"
    "    return [v for v, _ in sorted(counts.items(), key=lambda p: -p[1])[:k]]\n```",
    "```python\ndef longest(s: str) -> str:\n    best = \"\"\n    for i in range(len(s)):\n"
    "        for lo, hi in ((i, i), (i, i + 1)):\n            while lo >= 0 and hi < len(s) and s[lo] == s[hi]:\n"
    "                lo, hi = lo - 1, hi + 1\n            if hi - lo - 1 > len(best):\n"
    "                best = s[lo + 1:hi]\n    return best\n```",
    "```python\nfrom collections import deque\n\ndef shortest(grid, start, goal):\n    q = deque([(start, 0)])\n"
    "    seen = {start}\n    while q:\n        (r, c), d = q.popleft()\n        if (r, c) == goal:\n"
    "            return d\n        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):\n"
    "            nr, nc = r + dr, c + dc\n            if 0 <= nr < len(grid) and 0 <= nc < len(grid[0]) "
    "and grid[nr][nc] == 0 and (nr, nc) not in seen:\n                seen.add((nr, nc))\n"
    "                q.append(((nr, nc), d + 1))\n    return -1\n```",
    "```python\ndef merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:\n    out: list[tuple[int, int]] = []\n"
    "    for lo, hi in sorted(intervals):\n        if out and lo <= out[-1][1]:\n"
    "            out[-1] = (out[-1][0], max(out[-1][1], hi))\n        else:\n            out.append((lo, hi))\n"
    "    return out\n```",
    "```python\nimport unittest\n\nclass TestSolve(unittest.TestCase):\n    def test_empty(self):\n"
    "        self.assertEqual(solve([], 1), [])\n\n    def test_basic(self):\n"
    "        self.assertEqual(solve([1, 1, 2], 1), [1])\n```",
    "```python\ndef lis(a: list[int]) -> int:\n    import bisect\n    tails: list[int] = []\n    for x in a:\n"
    "        i = bisect.bisect_left(tails, x)\n        if i == len(tails):\n            tails.append(x)\n"
    "        else:\n            tails[i] = x\n    return len(tails)\n```",
)
SUPPORT_REPLIES: tuple[str, ...] = (
    "Thank you for reaching out, and I'm sorry for the trouble with your {item}.",
    "I've checked your account and can see what happened.",
    "I've escalated this to our billing team, who will contact you within two business days.",
    "A replacement has been arranged and you will receive a confirmation email shortly.",
    "Could you please confirm the order number so I can look into this further?",
    "I completely understand your frustration and I appreciate your patience.",
    "As a gesture of goodwill we have added a credit to your account.",
    "If anything else comes up, just reply to this message.",
)
