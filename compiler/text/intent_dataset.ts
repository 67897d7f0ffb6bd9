// A generated intent dataset for a wearable: twelve intents, each with templated sentences whose
// {slots} are filled from value lists. Every intent has training templates and held-out templates
// (phrasings never seen in training, built mostly from words the training templates of the intent
// use), so held-out accuracy measures generalization to new wording, not memorized sentences. Fully deterministic: the same seed gives the same sentences.

import { rng } from '../frontends/tfjs/rng.ts';

export interface IntentSpec {
  name: string;
  train: readonly string[];
  heldOut: readonly string[];
}

export interface IntentExample {
  text: string;
  label: number;
}

export interface IntentDataset {
  intents: readonly string[];
  train: IntentExample[];
  test: IntentExample[];
}

const SLOTS: Readonly<Record<string, readonly string[]>> = {
  duration: ['five minutes', 'ten minutes', '30 seconds', 'an hour', 'two hours', '90 seconds', 'twenty minutes', '3 minutes', 'half an hour', '45 minutes'],
  time: ['7 am', '6:30', 'noon', 'midnight', '8 in the morning', 'seven thirty', '10 pm', '5:45 am', 'six', 'quarter past nine'],
  contact: ['mum', 'dad', 'alex', 'sam', 'grandma', 'the office', 'maria', 'john', 'my sister', 'dr lee'],
  song: ['some jazz', 'my running playlist', 'the next song', 'relaxing music', 'taylor swift', 'the radio', 'my favourites', 'classical music'],
  place: ['home', 'the station', 'work', 'the nearest cafe', 'the gym', 'the park', 'london', 'the airport'],
  level: ['up', 'down', 'to max', 'to 50 percent', 'a bit', 'all the way down'],
  workout: ['a run', 'a walk', 'cycling', 'a swim', 'yoga', 'a hike', 'strength training', 'rowing'],
  message: ['running late', 'on my way', 'call me back', 'see you soon', 'yes', 'be home at six'],
  // Wrapped around every template, so intents without slots get varied sentences too.
  pre: ['', '', 'hey watch ', 'ok ', 'please ', 'um '],
  post: ['', '', ' please', ' now', ' thanks', ' right now'],
};

export const WEARABLE_INTENTS: readonly IntentSpec[] = [
  {
    name: 'set_timer',
    train: ['set a timer for {duration}', 'start a {duration} timer', 'timer {duration}', 'count down {duration}', 'can you set a timer for {duration}', 'remind me in {duration}'],
    heldOut: ['i need a timer for {duration}', 'count {duration} for me'],
  },
  {
    name: 'set_alarm',
    train: ['set an alarm for {time}', 'wake me up at {time}', 'alarm at {time}', 'i want to get up at {time}', 'set my alarm to {time} please'],
    heldOut: ['wake me at {time}', 'i need an alarm at {time}'],
  },
  {
    name: 'heart_rate',
    train: ["what's my heart rate", 'show my pulse', 'how fast is my heart beating', 'measure my heart rate', 'check my pulse now', 'heart rate please'],
    heldOut: ['tell me my heart rate', 'what is my pulse'],
  },
  {
    name: 'call_contact',
    train: ['call {contact}', 'phone {contact}', 'ring {contact} please', 'give {contact} a call', 'dial {contact}', 'start a call with {contact}'],
    heldOut: ['can you call {contact}', 'give a ring to {contact}'],
  },
  {
    name: 'send_message',
    train: ['text {contact} {message}', 'send a message to {contact}', 'message {contact} saying {message}', 'tell {contact} {message}', 'send {contact} a text'],
    heldOut: ['send {contact} a message saying {message}', 'text {contact} that i am {message}'],
  },
  {
    name: 'play_music',
    train: ['play {song}', 'put on {song}', 'start playing {song}', 'i want to hear {song}', 'music please', 'play music'],
    heldOut: ['can i hear {song}', 'play me {song}'],
  },
  {
    name: 'volume',
    train: ['turn the volume {level}', 'volume {level}', 'make it louder', 'make it quieter', 'turn it {level}', 'set the sound {level}'],
    heldOut: ['turn the sound {level}', 'make the volume louder'],
  },
  {
    name: 'weather',
    train: ["what's the weather", 'will it rain today', 'weather in {place}', 'how hot is it outside', 'is it cold in {place}', 'forecast for tomorrow'],
    heldOut: ['what is the weather in {place}', 'will it be cold tomorrow'],
  },
  {
    name: 'navigate',
    train: ['navigate to {place}', 'take me to {place}', 'directions to {place}', 'how do i get to {place}', 'route to {place}', 'show the way to {place}'],
    heldOut: ['get me directions to {place}', 'how do i go to {place}'],
  },
  {
    name: 'start_workout',
    train: ['start {workout}', 'begin {workout}', 'track {workout}', "let's go for {workout}", 'start a workout', 'record {workout}'],
    heldOut: ['i want to start {workout}', 'begin tracking {workout}'],
  },
  {
    name: 'steps',
    train: ['how many steps today', 'show my steps', 'step count', 'how far have i walked', 'how many steps did i take', 'daily steps please'],
    heldOut: ['how many steps have i walked', 'what is my step count today'],
  },
  {
    name: 'battery',
    train: ['how much battery is left', 'battery level', 'is my watch charged', 'check the battery', 'how long until the battery dies', 'battery status'],
    heldOut: ['how much charge is left in the battery', 'what is my battery level'],
  },
];

/** Every sentence one template gives, slot values combined in a seeded order (at most `limit`). */
function fill(body: string, next: () => number, limit: number): string[] {
  const template = `{pre}${body}{post}`;
  const slots = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const count = slots.reduce((n, s) => n * (SLOTS[s]?.length ?? 1), 1);
  const out = new Set<string>();
  for (let k = 0; k < Math.min(limit, count) * 4 && out.size < Math.min(limit, count); k++) {
    out.add(template.replace(/\{(\w+)\}/g, (_, s: string) => {
      const values = SLOTS[s];
      if (!values) throw new Error(`internal: template '${template}' names unknown slot {${s}}`);
      return values[Math.floor(next() * values.length)] as string;
    }));
  }
  return [...out];
}

/**
 * The dataset: up to `perTemplate` sentences per template (fewer when the slots allow fewer),
 * training sentences from the training templates, test sentences from the held-out ones, each
 * list shuffled with `seed`.
 */
export function intentDataset(opts: { seed?: number; perTemplate?: number; intents?: readonly IntentSpec[] } = {}): IntentDataset {
  const intents = opts.intents ?? WEARABLE_INTENTS;
  const next = rng(opts.seed ?? 1);
  const perTemplate = opts.perTemplate ?? 12;
  const train: IntentExample[] = [];
  const test: IntentExample[] = [];
  intents.forEach((intent, label) => {
    for (const t of intent.train) for (const text of fill(t, next, perTemplate)) train.push({ text, label });
    for (const t of intent.heldOut) for (const text of fill(t, next, perTemplate)) test.push({ text, label });
  });
  const shuffle = (xs: IntentExample[]): IntentExample[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [xs[i], xs[j]] = [xs[j] as IntentExample, xs[i] as IntentExample];
    }
    return xs;
  };
  return { intents: intents.map((i) => i.name), train: shuffle(train), test: shuffle(test) };
}
