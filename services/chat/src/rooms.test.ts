import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Caller } from '@ap/protocol';
import { isMember } from './rooms.ts';
import type { RoomMembers } from './rooms.ts';

const assessmentRoom: RoomMembers = { kind: 'assessment', room_id: 'asm_a1', assessment_id: 'a1', candidate_id: 'c1', test_id: 'tx' };
const supportRoom = (tests?: string[]): RoomMembers => ({
  kind: 'support',
  room_id: 'sup_1',
  members: ['r1', 'c1'],
  topic: 'Support',
  opened_by: 'r1',
  created_at: new Date(0),
  ...(tests === undefined ? {} : { tests }),
});
const candidate = (tests?: string[], id = 'c1'): Caller =>
  tests === undefined ? { user_id: id, role: 'candidate' } : { user_id: id, role: 'candidate', tests };

describe('room membership follows the token', () => {
  test('an assessment room: its candidate with a token for its test, and staff who may see the test', () => {
    assert.equal(isMember(candidate(['tx']), assessmentRoom), true);
    assert.equal(isMember(candidate(['ty', 'tx']), assessmentRoom), true);
    // The same person with a token for another test, or a token without tests, is not a member.
    assert.equal(isMember(candidate(['ty']), assessmentRoom), false);
    assert.equal(isMember(candidate([]), assessmentRoom), false);
    assert.equal(isMember(candidate(), assessmentRoom), false);
    assert.equal(isMember(candidate(['tx'], 'c2'), assessmentRoom), false);
    assert.equal(isMember({ user_id: 'p1', role: 'proctor', tests: ['tx'] }, assessmentRoom), true);
    assert.equal(isMember({ user_id: 'p1', role: 'proctor', tests: ['ty'] }, assessmentRoom), false);
    assert.equal(isMember({ user_id: 'adm', role: 'admin' }, assessmentRoom), true);
  });

  test("a support room: its members (the candidate with a token for one of the room's tests) and admins", () => {
    const room = supportRoom(['tx']);
    assert.equal(isMember(candidate(['tx']), room), true);
    assert.equal(isMember(candidate(['ty']), room), false);
    assert.equal(isMember(candidate(), room), false);
    assert.equal(isMember({ user_id: 'r1', role: 'recruiter', tests: ['tx'] }, room), true);
    assert.equal(isMember({ user_id: 'r2', role: 'recruiter', tests: ['tx'] }, room), false);
    assert.equal(isMember({ user_id: 'adm', role: 'admin' }, room), true);
    // Rooms stored before tests were recorded keep their members.
    assert.equal(isMember(candidate(['ty']), supportRoom()), true);
  });
});
