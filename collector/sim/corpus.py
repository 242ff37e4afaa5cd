"""Korean text the synthetic chat is made of: invented streamer and viewer names, chat
lines, donation texts, broadcast titles and categories. Data only, no logic."""

# Invented streamer-style names (short handles, real-name-like names, creature names).
STREAMER_NAMES = (
    "김뽀삐", "한동훈이", "괴물쥐돌이", "뿡뿡이형", "침착한오리", "우왁굳은", "풍월당", "릴파닥",
    "징버거킹", "서새봄날", "강지렁", "도롱뇽", "따효니아", "주르르륵", "빅헤드맨", "탬탬버린",
    "감스트로", "양띵구리", "삼식이", "파카파카", "녹두로구", "김나성", "소풍왔니", "마젠타로",
)

# Categories: (categoryType, liveCategory, liveCategoryValue)
CATEGORIES = (
    ("GAME", "Grand_Theft_Auto_V", "Grand Theft Auto V"),
    ("GAME", "League_of_Legends", "리그 오브 레전드"),
    ("ETC", "talk", "토크"),
    ("GAME", "Player_Unknowns_Battle_Grounds", "PUBG: 배틀그라운드"),
    ("GAME", "VALORANT", "발로란트"),
    ("GAME", "Minecraft", "마인크래프트"),
    ("ETC", "music", "음악/노래"),
    ("GAME", "Lost_Ark", "로스트아크"),
)

TITLE_PARTS_A = (
    "오늘도 달린다", "퇴근하고 한판", "신규 서버 첫날", "랭크 올리기", "시청자 참여",
    "새벽 감성 토크", "뉴비 탈출기", "합방 간다", "저챗 조금만", "노래 부르는 날",
)
TITLE_PARTS_B = ("🔥", "🐹", "(feat. 시청자)", "~!", "ㅋㅋ", "", "[도네 ON]", "#14일차")

TIER_NAMES = ("친구", "팬클럽", "가족", "정예", "기사단", "주민", "수호대")

# Viewer nickname pieces: "치킨먹는 암살자 9930"-style generated names and short handles.
NICK_ADJ = (
    "치킨먹는", "오늘만사는", "배고픈", "졸린", "행복한", "무서운", "귀여운", "조용한", "빠른",
    "느긋한", "전설의", "화난", "수상한", "용감한", "외로운", "밥먹는", "춤추는", "게으른",
)
NICK_NOUN = (
    "암살자", "초보", "고양이", "감자", "펭귄", "기사", "마법사", "다람쥐", "너구리", "호랑이",
    "곰돌이", "토끼", "궁수", "전사", "고래", "햄스터", "여우", "부엉이",
)
NICK_SHORT = (
    "반밤", "알리체", "헉헉", "뚜뚜", "모카", "라떼", "하루", "별빛", "보리", "초코", "구름",
    "두부", "콩이", "루루", "나비", "밤비", "도리", "소금", "후추", "유자", "망고", "자몽",
    "ddong", "zzang", "kimchi", "hoho", "lulu", "minu", "sky", "rain",
)

CHAT_LINES = (
    "ㅋㅋㅋㅋ", "ㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋ", "ㅋㅋㅋ", "ㅋㅋㅋㅋㅋㅋ", "와 미쳤다", "ㄹㅇ", "ㄹㅇㅋㅋ",
    "ㅇㅇ", "ㄷㄷ", "ㄷㄷㄷㄷ", "헐", "헉", "어어 샌다", "나이스", "나이스!!", "개웃기네",
    "이게 되네", "안녕하세요~", "하이하이", "ㅎㅇ", "왔다", "늦었다 ㅠㅠ", "ㅠㅠ", "ㅜㅜ",
    "오늘 방송 몇시까지 해요?", "이거 무슨 게임이에요?", "브금 뭐에요?", "방금 뭐였음?",
    "저거 먹어야 함", "뒤에 뒤에!!", "왼쪽 왼쪽", "도망가", "살려줘", "가보자고",
    "폼 미쳤다", "역시 ㅋㅋ", "킹갓", "천재다", "이걸 못 보네", "아 아깝다", "ㅗㅜㅑ",
    "굿굿", "ㅊㅊ", "축하해요!", "생일 축하합니다 🎉", "배고프다", "밥 먹고 올게요",
    "오늘 텐션 좋네", "목소리 좋다", "화질 좋네요", "렉 걸려요", "소리 작아요",
    "거 k계열 총기는 안다룹니까", "르엘 행동이에요?", "다음 판 가자", "한판 더",
    "이겼다!!", "졌잘싸", "GG", "gg", "ㅎㅎ", "ㅋ", "?", "??", "!!!", "ㅇㅈ", "ㄴㄴ",
    "무야호", "레전드", "이건 클립각", "클립 따라", "방장 최고", "사랑해요", "보고싶었어요",
)
CHAT_QUESTIONS = (
    "혹시 내일도 방송해요?", "합방 언제 해요?", "이 노래 제목 뭐에요?", "지금 몇 레벨이에요?",
    "마이크 바꿨어요?", "오늘 컨디션 어때요?", "저녁 뭐 드셨어요?", "다음 게임 뭐 해요?",
)
EMOJI_NAMES = ("d_47", "d_12", "d_33", "d_61", "chzzk_smile", "d_05", "d_88")

STREAMER_LINES = (
    "다들 안녕~", "도네 감사합니다!", "구독 감사해요!!", "잠깐 화장실 다녀올게요",
    "자 다음 판 간다", "채팅 너무 빨라 ㅋㅋ", "오늘은 여기까지!", "물 한잔만 마시고",
)
MANAGER_LINES = (
    "분탕 금지입니다", "도배 자제 부탁드려요", "다들 매너채팅 부탁드립니다",
    "공지 확인해주세요", "스포 금지!", "뻐꾸기 금지입니다",
)
NOTICE_LINES = (
    "타 스트리머 비하, 분탕, 스포, 뻐꾸기 금지. ㅇㅇ해줘 자제 부탁드립니다.",
    "방송 일정: 평일 저녁 8시 / 주말 오후 3시. 공지 꼭 읽어주세요!",
)

DONATION_LINES = (
    "항상 잘 보고 있어요!", "맛있는 거 사드세요", "오늘도 화이팅!!", "EMS 도 한명 섭외?",
    "그래서 계속 실수만 하는데 예술은 언제 보여주나요?", "생일 축하해요~", "이거 보고 웃어요 ㅋㅋ",
    "퇴근 기념 도네", "노래 한곡 부탁드려요", "아까 그 장면 레전드였어요", "",
)
VIDEO_TITLES = (
    "스태프의 실수로 만들어진 역대급 무대 / 싸이 - 예술이야",
    "[MV] 아이유 - 좋은 날", "고양이 10시간 모음집", "역대급 축구 골 모음 TOP 10",
    "웃으면 안되는 영상 레전드", "BTS - Dynamite (Official MV)",
)
SUBSCRIPTION_LINES = (
    "나이스한 아침이야", "구독 연장했어요!", "벌써 1년이네", "앞으로도 잘 부탁해요", "",
)

COLOR_CODES = ("CC000",) * 85 + ("SG001",) * 5 + ("CC015",) * 4 + ("SG002", "CC007", "SS001") * 2
OS_TYPES = ("PC",) * 70 + ("AOS",) * 21 + ("IOS",) * 8  # no recorded frame has "MOBILE"
PAY_AMOUNTS = (1000,) * 50 + (2000,) * 15 + (5000,) * 15 + (10000,) * 12 + (3000,) * 4 + (50000,) * 3 + (100000,)

BADGE_BASE = "https://ssl.pstatic.net/static/nng/glive"
ACTIVITY_BADGES = (
    ("donation_newbie", f"{BADGE_BASE}/badge/fan_03.png"),
    ("donation_accumulate_amount_lv1", f"{BADGE_BASE}/icon/cheese01.png"),
    ("donation_accumulate_amount_lv2", f"{BADGE_BASE}/icon/cheese02.png"),
    ("all_time_viewers_2025", f"{BADGE_BASE}/badge/recap_25.png"),
    ("subscription_gift_count_50", f"{BADGE_BASE}/badge/gift_sub_50.png"),
)
