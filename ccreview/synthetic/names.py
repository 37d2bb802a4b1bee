"""Word lists for fictional people and practices (no real patient or staff data)."""

from __future__ import annotations

import random

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty",
    "Anthony", "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul",
    "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda",
    "Brian", "Dorothy", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie",
    "Edward", "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob",
    "Kathleen", "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna",
    "Stephen", "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon",
    "Helen", "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Carole",
    "Alexander", "Debra", "Frank", "Rachel", "Patrick", "Carolyn", "Raymond", "Janet", "Jack",
    "Catherine", "Dennis", "Maria", "Jerry", "Heather", "Tyler", "Diane", "Aaron", "Ruth",
    "Jose", "Julie", "Adam", "Olivia", "Nathan", "Joyce", "Henry", "Virginia", "Douglas",
    "Victoria", "Zachary", "Kelly", "Peter", "Lauren", "Kyle", "Christina", "Ethan", "Joan",
    "Walter", "Evelyn", "Noah", "Judith", "Jeremy", "Megan", "Christian", "Andrea", "Keith",
    "Cheryl", "Roger", "Hannah", "Terry", "Jacqueline", "Gerald", "Martha", "Harold", "Gloria",
    "Sean", "Teresa", "Austin", "Ann", "Carl", "Sara", "Arthur", "Madison", "Lawrence",
    "Frances", "Dylan", "Kathryn", "Jesse", "Janice", "Jordan", "Jean", "Bryan", "Abigail",
    "Billy", "Alice", "Joe", "Judy", "Bruce", "Sophia", "Gabriel", "Grace", "Logan", "Denise",
    "Alan", "Amber", "Juan", "Doris", "Wayne", "Marilyn", "Roy", "Danielle", "Ralph", "Beverly",
    "Randy", "Isabella", "Eugene", "Theresa", "Vincent", "Diana", "Russell", "Natalie", "Elijah",
    "Brittany", "Louis", "Charlotte", "Bobby", "Marie", "Philip", "Kayla", "Johnny", "Alexis",
    "Priya", "Wei", "Mohammed", "Fatima", "Hiroshi", "Yuki", "Ana", "Luis", "Sofia", "Mateo",
    "Aisha", "Omar", "Mei", "Raj", "Anjali", "Dmitri", "Olga", "Kwame", "Ngozi", "Thanh",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson",
    "Barnes", "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson",
    "Alexander", "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West",
    "Cole", "Hayes", "Bryant", "Herrera", "Gibson", "Ellis", "Tran", "Medina", "Aguilar",
    "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens", "Harrison", "Fernandez",
    "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen", "Freeman",
    "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter",
    "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt", "Hicks",
    "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar",
    "Fox", "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson",
    "Nichols", "Stephens", "Soto", "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn",
    "Kelley", "Spencer", "Hawkins", "Arnold", "Pierce", "Vazquez", "Hansen", "Peters", "Santos",
    "Hart", "Bradley", "Knight", "Elliott", "Cunningham", "Duncan", "Armstrong", "Hudson",
    "Carroll", "Lane", "Riley", "Andrews", "Alvarado", "Ray", "Delgado", "Berry", "Perkins",
    "Hoffman", "Johnston", "Matthews", "Pena", "Richards", "Contreras", "Willis", "Carpenter",
    "Lawrence", "Sandoval", "O'Brien", "Erdman", "Skyrum", "Meser", "Charles", "Nakamura",
    "Okafor", "Kowalski", "Yamamoto", "Haddad", "Singh", "Ivanova", "Mensah", "Pham",
)
PLACES = (
    "Desert Valley", "Mesa Ridge", "Saguaro", "Red Rock", "Sun Canyon", "Camelback", "Papago",
    "Sonoran", "Verde Valley", "Superstition", "Copper State", "Gila", "Mogollon", "Prescott",
    "Canyon View", "Cactus Flower", "North Mountain", "South Mountain", "Estrella", "Agua Fria",
    "Salt River", "Pinnacle Peak", "Chandler Heights", "Gold Canyon", "Tonto", "Cholla",
    "Mountain Vista", "Rio Salado", "Kierland", "Ahwatukee", "Bozeman", "Raymond", "Yellowstone",
    "Front Range", "Pikes Peak", "High Plains", "Silver State", "Sandia", "Rio Grande", "Mesquite",
)
PRACTICE_KINDS = (
    ("Family Medicine", "fm"), ("Internal Medicine", "im"), ("Pediatrics", "peds"),
    ("Orthopedics", "ortho"), ("Cardiology", "cardio"), ("Women's Health", "wh"),
    ("Neurology", "neuro"), ("Surgical Associates", "surg"), ("Gastroenterology", "gi"),
    ("Pulmonary Care", "pulm"), ("Urology", "uro"), ("Oncology", "onc"), ("ENT", "ent"),
    ("Dermatology", "derm"), ("Primary Care", "pc"), ("Spine & Pain", "spine"),
)
SUFFIXES = ("Associates", "Group", "Clinic", "Partners", "Specialists", "Physicians", "PLLC")
SPECIALTIES = ("family medicine", "internal medicine", "pediatrics", "orthopedic surgery",
               "cardiology", "obstetrics and gynecology", "neurology", "neurosurgery",
               "general surgery", "gastroenterology", "pulmonology", "urology", "oncology",
               "otolaryngology", "dermatology", "pain medicine")
FACILITIES = ("Valley Regional Medical Center", "Desert Mesa Medical Center",
              "North Mountain Hospital", "Raymond Medical Center", "Bozeman Medical Center",
              "Sun Canyon Community Hospital", "Camelback Surgical Hospital",
              "Gila River Medical Center", "Red Rock Children's Hospital")
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com", "icloud.com")
AREA_CODES = ("602", "480", "623", "520", "928", "406", "970", "720", "702", "505")


def practice_name(rng: random.Random, used_domains: set[str]) -> tuple[str, str]:
    """A practice name and a unique domain derived from it."""
    place = rng.choice(PLACES)
    kind, short = rng.choice(PRACTICE_KINDS)
    name = f"{place} {kind} {rng.choice(SUFFIXES)}"
    base = "".join(c for c in place.lower() if c.isalpha()) + short
    domain = f"{base}.com"
    n = 1
    while domain in used_domains:
        n += 1
        domain = f"{base}{n}.com"
    used_domains.add(domain)
    return name, domain
