"""NGO engagement bot: a city's cooperation programme with NGOs, in Telegram."""
