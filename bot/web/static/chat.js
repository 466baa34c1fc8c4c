/*
 * The web chat page: sends what the user types to /api/chat and shows the assistant's replies.
 *
 * Bot text is only ever put on the page with textContent and DOM nodes, never innerHTML, so a reply containing
 * markup is shown as text and cannot run a script. No libraries and nothing from other sites: the page must load
 * on slow phones and under a strict Content-Security-Policy.
 */
(function () {
  "use strict";

  var API_URL = "/api/chat";
  var SURVEYS_URL = "/api/surveys";
  // A survey id, as in data/surveys/<id>.yml; anything else in ?survey= is ignored.
  var SURVEY_ID_PATTERN = /^[a-z][a-z0-9_]{1,39}$/;
  // A little longer than the server's own wait for Rasa, so the server's friendly 503 arrives first.
  var REQUEST_TIMEOUT_MS = 65000;

  var WELCOME =
    "Hello. I can help with questions about funded nursery places, " +
    "EHC needs assessments and HAF holiday clubs in Coventry. Type your question below.";
  var TYPING = "The assistant is typing…";
  var EMPTY_INPUT = "Please type a message before sending.";
  var NO_REPLY = "Sorry, I do not have an answer to that. Please try asking in a different way.";
  var GENERIC_ERROR = "Sorry, something went wrong. Please try again in a minute.";
  var NETWORK_ERROR = "Sorry, the chat could not be reached. Please check your connection and try again.";

  // http(s) links, bare "www." addresses, and bare UK public-body addresses such as coventry.gov.uk/haf.
  // Email addresses are matched first so "name@coventry.gov.uk" becomes one mailto link, not half a web link.
  var LINK_PATTERN =
    /([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)|(https?:\/\/[^\s<>"']+|www\.[^\s<>"']+|\b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:gov|org|nhs|ac|co|sch|police)\.uk(?:\/[^\s<>"']*)?)/g;
  // Sentence punctuation after a link belongs to the sentence, not the address.
  var TRAILING_PUNCTUATION = /[.,;:!?)\]]+$/;

  var log = document.getElementById("chat-log");
  var statusLine = document.getElementById("chat-status");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var sendButton = document.getElementById("chat-send");
  var waiting = false;
  // Who is writing is the server's business: it keeps the conversation's id in an HttpOnly cookie the page
  // cannot read, so nothing on the page (or in a screenshot of it) can be used to open someone's conversation.

  /** Add one message to the log, with a hidden "You:"/"Assistant:" so screen readers say who is speaking. */
  function addMessage(role, fillBody) {
    var item = document.createElement("div");
    item.className = "msg msg--" + role;
    var who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = role === "user" ? "You: " : role === "error" ? "Problem: " : "Assistant: ";
    item.appendChild(who);
    var body = document.createElement("div");
    body.className = "msg__body";
    fillBody(body);
    item.appendChild(body);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  /** Put text into an element as text nodes and links; never as HTML. */
  function appendLinkedText(parent, text) {
    var lastIndex = 0;
    var match;
    LINK_PATTERN.lastIndex = 0;
    while ((match = LINK_PATTERN.exec(text)) !== null) {
      var found = match[0];
      var trailing = "";
      var punctuation = TRAILING_PUNCTUATION.exec(found);
      if (punctuation) {
        trailing = punctuation[0];
        found = found.slice(0, found.length - trailing.length);
      }
      var href = match[1] ? "mailto:" + found : /^https?:\/\//i.test(found) ? found : "https://" + found;
      parent.appendChild(document.createTextNode(text.slice(lastIndex, match.index)));
      var link = document.createElement("a");
      link.href = href;
      link.textContent = found;
      if (!match[1]) {
        // Open council pages in a new tab so the conversation stays where it is.
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        var hint = document.createElement("span");
        hint.className = "visually-hidden";
        hint.textContent = " (opens in a new tab)";
        link.appendChild(hint);
      }
      parent.appendChild(link);
      lastIndex = match.index + match[0].length - trailing.length;
      LINK_PATTERN.lastIndex = lastIndex;
    }
    parent.appendChild(document.createTextNode(text.slice(lastIndex)));
  }

  /** Show one reply from Rasa: its text, a link for any picture, and its buttons as real buttons. */
  function addBotReply(reply) {
    if (!reply || typeof reply !== "object") {
      return;
    }
    var hasText = typeof reply.text === "string" && reply.text !== "";
    var hasImage = typeof reply.image === "string" && /^https?:\/\//i.test(reply.image);
    var buttons = Array.isArray(reply.buttons) ? reply.buttons : [];
    if (!hasText && !hasImage && buttons.length === 0) {
      return; // e.g. a "custom" payload meant for another channel
    }
    addMessage("bot", function (body) {
      if (hasText) {
        var text = document.createElement("p");
        text.className = "msg__text";
        appendLinkedText(text, reply.text);
        body.appendChild(text);
      }
      if (hasImage) {
        // A link, not an <img>: the page loads nothing from other sites, and a picture without a description would
        // tell a screen reader user nothing.
        var picture = document.createElement("p");
        picture.className = "msg__text";
        picture.appendChild(document.createTextNode("Picture: "));
        appendLinkedText(picture, reply.image);
        body.appendChild(picture);
      }
      if (buttons.length > 0) {
        var group = document.createElement("div");
        group.className = "msg__buttons";
        group.setAttribute("role", "group");
        group.setAttribute("aria-label", "Choices");
        buttons.forEach(function (choice) {
          if (!choice || typeof choice.title !== "string") {
            return;
          }
          var payload = typeof choice.payload === "string" && choice.payload !== "" ? choice.payload : choice.title;
          var button = document.createElement("button");
          button.type = "button";
          button.className = "choice";
          button.textContent = choice.title;
          button.addEventListener("click", function () {
            send(payload, choice.title, false);
            input.focus();
          });
          group.appendChild(button);
        });
        body.appendChild(group);
      }
    });
  }

  /**
   * Scroll the log so a new answer is read from its first line: long answers would otherwise open at their end,
   * and short ones still end up fully in view because the browser stops at the bottom.
   */
  function showFromStart(item) {
    if (item) {
      log.scrollTop = Math.max(0, item.offsetTop - 8);
    }
  }

  function addUserMessage(text) {
    addMessage("user", function (body) {
      var p = document.createElement("p");
      p.className = "msg__text";
      p.textContent = text;
      body.appendChild(p);
    });
  }

  function addErrorMessage(text) {
    addMessage("error", function (body) {
      var p = document.createElement("p");
      p.className = "msg__text";
      p.textContent = text;
      body.appendChild(p);
    });
  }

  function setWaiting(isWaiting) {
    waiting = isWaiting;
    statusLine.textContent = isWaiting ? TYPING : "";
    // aria-disabled, not disabled: a disabled button loses keyboard focus, which strands keyboard users.
    sendButton.setAttribute("aria-disabled", isWaiting ? "true" : "false");
    log.setAttribute("aria-busy", isWaiting ? "true" : "false");
  }

  /** Put an undelivered typed message back in the message box, unless the user has started a new one. */
  function giveBack(message, typed) {
    if (typed && input.value === "") {
      input.value = message;
    }
  }

  /** Read the server's error sentence, falling back to a general one if the body is not our JSON. */
  function errorSentence(response) {
    return response
      .json()
      .then(function (body) {
        return body && typeof body.error === "string" && body.error ? body.error : GENERIC_ERROR;
      })
      .catch(function () {
        return GENERIC_ERROR;
      });
  }

  /**
   * Send a message (typed, or a button's payload) and show the replies.
   * `shown` is what appears as the user's message: the button's title rather than a payload like "/haf_booking".
   * `typed` says the text came from the message box: if it is not delivered it goes back there, so nobody has to
   * type a long, difficult message twice.
   */
  function send(message, shown, typed) {
    if (waiting) {
      return;
    }
    addUserMessage(shown);
    setWaiting(true);
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller
      ? window.setTimeout(function () {
          controller.abort();
        }, REQUEST_TIMEOUT_MS)
      : null;
    fetch(API_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ message: message }),
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        if (!response.ok) {
          return errorSentence(response).then(function (sentence) {
            setWaiting(false);
            addErrorMessage(sentence);
            giveBack(message, typed);
          });
        }
        return response.json().then(function (replies) {
          setWaiting(false);
          if (!Array.isArray(replies) || replies.length === 0) {
            addMessage("bot", function (body) {
              var p = document.createElement("p");
              p.className = "msg__text";
              p.textContent = NO_REPLY;
              body.appendChild(p);
            });
            return;
          }
          var lastBefore = log.lastElementChild;
          replies.forEach(addBotReply);
          showFromStart(lastBefore ? lastBefore.nextElementSibling : log.firstElementChild);
        });
      })
      .catch(function () {
        setWaiting(false);
        addErrorMessage(NETWORK_ERROR);
        giveBack(message, typed);
      })
      .then(function () {
        if (timer !== null) {
          window.clearTimeout(timer);
        }
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (waiting) {
      return;
    }
    var text = input.value;
    if (!text.trim()) {
      statusLine.textContent = EMPTY_INPUT;
      input.focus();
      return;
    }
    input.value = "";
    send(text, text, true);
  });

  /** The payload that starts a survey, as its button in the chat would send it. */
  function surveyPayload(id) {
    return "/survey_offer" + JSON.stringify({ survey: id });
  }

  /** List the open surveys as links under the chat; a link reloads the page with ?survey=<id>. */
  function showSurveyLinks() {
    var aside = document.querySelector(".have-your-say");
    var list = document.getElementById("survey-links");
    if (!aside || !list || typeof fetch !== "function") {
      return;
    }
    fetch(SURVEYS_URL, { headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : [];
      })
      .then(function (surveys) {
        if (!Array.isArray(surveys) || surveys.length === 0) {
          return;
        }
        surveys.forEach(function (survey) {
          if (!survey || typeof survey.id !== "string" || !SURVEY_ID_PATTERN.test(survey.id)) {
            return;
          }
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = "?survey=" + encodeURIComponent(survey.id);
          link.textContent = String(survey.title || survey.id);
          item.appendChild(link);
          list.appendChild(item);
        });
        aside.hidden = list.children.length === 0;
      })
      .catch(function () {
        // No links is fine: feedback can still be given by typing in the chat.
      });
  }

  addMessage("bot", function (body) {
    var p = document.createElement("p");
    p.className = "msg__text";
    p.textContent = WELCOME;
    body.appendChild(p);
  });
  showSurveyLinks();

  var requested = new URLSearchParams(window.location.search).get("survey");
  if (requested && SURVEY_ID_PATTERN.test(requested)) {
    // Once only: a reload must not offer the survey again (the conversation already has it).
    if (window.history && typeof window.history.replaceState === "function") {
      window.history.replaceState(null, "", window.location.pathname);
    }
    send(surveyPayload(requested), "Take part in the survey", false);
  }
})();
